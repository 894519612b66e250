package icelite

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Peer is one viewer: its ICE credentials, validated address, DTLS
// connection and SRTP contexts.
type Peer struct {
	m           *Mux
	ufrag, pwd  string
	remoteUfrag string
	remotePwd   string
	remoteFP    []byte
	onRTCP      func([]byte)
	created     time.Time
	tieBreaker  uint64

	// route is where RTP goes: the nominated address (and the socket its
	// check came in on), else the latest validated one.
	route     atomic.Pointer[route]
	nominated atomic.Bool
	lastCheck atomic.Int64

	// links are the viewer's authenticated ICE-TCP connections.
	linkMu sync.Mutex
	links  []*tcpLink

	dtlsCh chan []byte
	dconn  atomic.Pointer[dtls.Conn]

	// local encrypts what we send (RTP and RTCP: an srtp.Context is not
	// safe for concurrent use, wmu serializes it); remote decrypts the
	// viewer's RTCP on the Mux's read goroutine only.
	local  atomic.Pointer[srtp.Context]
	remote *srtp.Context
	wmu    sync.Mutex
	plain  []byte
	out    []byte
	hdr    rtp.Header
	rbuf   []byte

	connected chan struct{}
	// closed is set when the peer ends (ctx.Err takes a lock; the write
	// path checks this on every packet).
	closed    atomic.Bool
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
}

func newPeer(m *Mux, remoteUfrag, remotePwd string, fp []byte, onRTCP func([]byte)) *Peer {
	ctx, cancel := context.WithCancel(context.Background())
	return &Peer{
		m: m, ufrag: randString(16), pwd: randString(32),
		remoteUfrag: remoteUfrag, remotePwd: remotePwd, remoteFP: fp, onRTCP: onRTCP,
		created: time.Now(), dtlsCh: make(chan []byte, 64), tieBreaker: randUint64(),
		plain: make([]byte, 0, 1500), out: make([]byte, 0, 1600),
		connected: make(chan struct{}), ctx: ctx, cancel: cancel,
	}
}

// LocalICE is the answer's a=ice-ufrag and a=ice-pwd.
func (p *Peer) LocalICE() (ufrag, pwd string) { return p.ufrag, p.pwd }

// Connected is closed once DTLS is up and SRTP keyed.
func (p *Peer) Connected() <-chan struct{} { return p.connected }

// Done is closed when the peer ends (Close, the viewer's goodbye, lost
// consent, a failed handshake); Err says why.
func (p *Peer) Done() <-chan struct{} { return p.ctx.Done() }

// Err is why the peer ended (nil for Close).
func (p *Peer) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// route is a viewer's address and the socket or ICE-TCP connection that
// reaches it.
type route struct {
	s    *sock
	tcp  *tcpLink
	addr netip.AddrPort
}

// RemoteAddr is the viewer's address (invalid before its first check).
func (p *Peer) RemoteAddr() netip.AddrPort {
	if r := p.route.Load(); r != nil {
		return r.addr
	}
	return netip.AddrPort{}
}

// Socket is the index (in NewMux's conns) of the socket that reaches the
// viewer; -1 before its first check and over ICE-TCP.
func (p *Peer) Socket() int {
	if r := p.route.Load(); r != nil && r.s != nil {
		return r.s.i
	}
	return -1
}

// attachTCP adds an ICE-TCP connection whose check authenticated; false
// when the peer has ended or has too many.
func (p *Peer) attachTCP(t *tcpLink) bool {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	if p.ctx.Err() != nil || len(p.links) >= 4 {
		return false
	}
	p.links = append(p.links, t)
	return true
}

// IsTCP reports whether the viewer is reached over ICE-TCP.
func (p *Peer) IsTCP() bool {
	r := p.route.Load()
	return r != nil && r.tcp != nil
}

// send writes one datagram's worth to the viewer.
func (p *Peer) send(b []byte) (int, error) {
	r := p.route.Load()
	switch {
	case r == nil:
		return 0, ErrNotConnected
	case r.tcp != nil:
		return r.tcp.write(b)
	}
	return r.s.conn.WriteToAddrPort(b, r.addr)
}

// checked records a valid check from the viewer, on socket s or ICE-TCP
// connection t: a nominating check picks the route, else the latest check
// does until one nominates.
func (p *Peer) checked(s *sock, t *tcpLink, from netip.AddrPort, nominated bool) {
	p.lastCheck.Store(time.Now().UnixNano())
	if nominated {
		p.nominated.Store(true)
		p.route.Store(&route{s: s, tcp: t, addr: from})
	} else if !p.nominated.Load() || p.route.Load() == nil {
		p.route.Store(&route{s: s, tcp: t, addr: from})
	}
}

func (p *Peer) expired(now time.Time) bool {
	select {
	case <-p.connected:
		return now.Sub(time.Unix(0, p.lastCheck.Load())) > p.m.cfg.ConsentTimeout
	default:
		return now.Sub(p.created) > p.m.cfg.ConnectTimeout
	}
}

// dtlsIn hands a DTLS record to the handshake/reader (Mux goroutine).
func (p *Peer) dtlsIn(b []byte) {
	select {
	case p.dtlsCh <- append([]byte(nil), b...):
	default: // the DTLS side is not reading: drop, as the network would
	}
}

// rtcpIn decrypts the viewer's SRTCP (Mux goroutine).
func (p *Peer) rtcpIn(b []byte) {
	if p.remote == nil || p.onRTCP == nil {
		return
	}
	select {
	case <-p.connected:
	default:
		return
	}
	out, err := p.remote.DecryptRTCP(p.rbuf[:0], b, nil)
	if err != nil {
		return
	}
	p.rbuf = out[:0]
	p.onRTCP(out)
}

// handshake runs the DTLS server side, keys SRTP, then reads DTLS until
// the connection ends (the viewer's close_notify ends the peer).
func (p *Peer) handshake() {
	ep := newEndpoint(p)
	conn, err := dtls.ServerWithOptions(ep, ep.RemoteAddr(),
		dtls.WithCertificates(p.m.cfg.Certificate),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithClientAuth(dtls.RequireAnyClientCert),
		// No CA: the certificate is checked against the offer's
		// fingerprint once the handshake is done (as pion/webrtc does; a
		// refusal inside the handshake leaves it waiting for retransmits).
		dtls.WithInsecureSkipVerify(true),
	)
	if err != nil {
		p.fail(err)
		return
	}
	p.dconn.Store(conn)
	ctx, cancel := context.WithTimeout(p.ctx, p.m.cfg.ConnectTimeout)
	err = conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		p.fail(err)
		return
	}
	state, ok := conn.ConnectionState()
	if !ok || p.verify(state.PeerCertificates) != nil {
		p.fail(ErrBadFingerprint)
		return
	}
	if err := p.keySRTP(conn); err != nil {
		p.fail(err)
		return
	}
	close(p.connected)
	buf := make([]byte, 1500)
	for {
		if _, err := conn.Read(buf); err != nil {
			p.fail(err)
			return
		}
	}
}

// verify checks the viewer's certificate against its offer's fingerprint.
func (p *Peer) verify(raw [][]byte) error {
	if len(raw) == 0 {
		return ErrBadFingerprint
	}
	sum := sha256.Sum256(raw[0])
	if !bytes.Equal(sum[:], p.remoteFP) {
		return ErrBadFingerprint
	}
	return nil
}

// keySRTP derives the SRTP keys from the DTLS connection (RFC 5764
// section 4.2, label "EXTRACTOR-dtls_srtp"): we are the DTLS server.
func (p *Peer) keySRTP(conn *dtls.Conn) error {
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return errors.New("icelite: no SRTP profile negotiated")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return errors.New("icelite: no DTLS state")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, false); err != nil {
		return err
	}
	local, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
	if err != nil {
		return err
	}
	remote, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
	if err != nil {
		return err
	}
	p.remote = remote
	p.local.Store(local)
	return nil
}

// WriteRTP encrypts one packet and hands it to the socket (a batching
// socket gathers it while the caller has its destination corked). Safe
// for concurrent use; no allocation.
func (p *Peer) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	out, err := p.seal(p.out[:0], h, payload)
	if err != nil {
		return 0, err
	}
	p.out = out[:0]
	return p.send(out)
}

// AppendRTP encrypts one packet and appends it to dst without sending it:
// for a sender that gathers many viewers' packets into one buffer and
// sends them together (rtc.Fanout). Safe for concurrent use with WriteRTP
// and WriteRTCP; no allocation when dst has room for the packet and its
// authentication tag (SRTPOverhead).
func (p *Peer) AppendRTP(dst []byte, h *rtp.Header, payload []byte) ([]byte, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.seal(dst, h, payload)
}

// SRTPOverhead is the most SRTP adds to an RTP packet here (the AEAD
// tag of AES-128-GCM, 16 bytes; HMAC-SHA1-80 adds 10).
const SRTPOverhead = 16

// seal appends the SRTP form of the packet to dst; p.wmu is held.
func (p *Peer) seal(dst []byte, h *rtp.Header, payload []byte) ([]byte, error) {
	local := p.local.Load()
	if local == nil {
		return dst, ErrNotConnected
	}
	if p.closed.Load() {
		return dst, ErrClosed
	}
	hl := h.MarshalSize()
	need := hl + len(payload)
	if cap(p.plain) < need {
		p.plain = make([]byte, 0, need)
	}
	plain := p.plain[:need]
	if _, err := h.MarshalTo(plain); err != nil {
		return dst, err
	}
	copy(plain[hl:], payload)
	if cap(dst)-len(dst) < need+SRTPOverhead {
		dst = slices.Grow(dst, need+SRTPOverhead)
	}
	// Encrypted into dst's spare capacity, in place.
	out, err := local.EncryptRTP(dst[len(dst):], plain, &p.hdr)
	if err != nil {
		return dst, err
	}
	if len(out) == 0 || &out[0] != &dst[:len(dst)+1][len(dst)] {
		return append(dst, out...), nil // SRTP needed more room
	}
	return dst[:len(dst)+len(out)], nil
}

// UDPRoute is the socket (one of NewMux's conns) and the address RTP to
// the viewer goes to, read together; the address is unmapped (an IPv4
// viewer on a dual-stack socket has its IPv4 address). ok is false before
// the first check and over ICE-TCP.
func (p *Peer) UDPRoute() (conn PacketConn, addr netip.AddrPort, ok bool) {
	r := p.route.Load()
	if r == nil || r.s == nil {
		return nil, netip.AddrPort{}, false
	}
	return r.s.conn, r.addr, true
}

// WriteRTCP sends RTCP packets (sender reports) as one compound packet.
func (p *Peer) WriteRTCP(pkts []rtcp.Packet) error {
	local := p.local.Load()
	if local == nil {
		return ErrNotConnected
	}
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	out, err := local.EncryptRTCP(nil, raw, nil)
	if err != nil {
		return err
	}
	_, err = p.send(out)
	return err
}

// Close ends the peer; a connected viewer gets a DTLS close_notify.
func (p *Peer) Close() error {
	p.end(nil)
	return nil
}

func (p *Peer) fail(err error) { p.end(err) }

func (p *Peer) end(err error) {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.errMu.Lock()
		p.err = err
		p.errMu.Unlock()
		if c := p.dconn.Load(); c != nil {
			// Sends close_notify (once connected), then closes the
			// endpoint, which ends the DTLS reader.
			_ = c.Close()
		}
		p.cancel()
		p.linkMu.Lock()
		for _, t := range p.links {
			_ = t.c.Close()
		}
		p.linkMu.Unlock()
		p.m.remove(p)
	})
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

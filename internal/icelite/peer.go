package icelite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
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

	// addr is where RTP goes: the nominated address, else the latest
	// validated one.
	addr      atomic.Pointer[netip.AddrPort]
	nominated atomic.Bool
	lastCheck atomic.Int64

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
		created: time.Now(), dtlsCh: make(chan []byte, 64),
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

// RemoteAddr is the viewer's address (invalid before its first check).
func (p *Peer) RemoteAddr() netip.AddrPort {
	if a := p.addr.Load(); a != nil {
		return *a
	}
	return netip.AddrPort{}
}

func (p *Peer) checked(from netip.AddrPort, nominated bool) {
	p.lastCheck.Store(time.Now().UnixNano())
	if nominated {
		p.nominated.Store(true)
		p.addr.Store(&from)
	} else if !p.nominated.Load() || p.addr.Load() == nil {
		p.addr.Store(&from)
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
	local := p.local.Load()
	if local == nil {
		return 0, ErrNotConnected
	}
	if p.ctx.Err() != nil {
		return 0, ErrClosed
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	hl := h.MarshalSize()
	need := hl + len(payload)
	if cap(p.plain) < need {
		p.plain = make([]byte, 0, need)
	}
	plain := p.plain[:need]
	if _, err := h.MarshalTo(plain); err != nil {
		return 0, err
	}
	copy(plain[hl:], payload)
	out, err := local.EncryptRTP(p.out[:0], plain, &p.hdr)
	if err != nil {
		return 0, err
	}
	p.out = out[:0]
	return p.m.conn.WriteToAddrPort(out, p.RemoteAddr())
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
	_, err = p.m.conn.WriteToAddrPort(out, p.RemoteAddr())
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
		p.errMu.Lock()
		p.err = err
		p.errMu.Unlock()
		if c := p.dconn.Load(); c != nil {
			// Sends close_notify (once connected), then closes the
			// endpoint, which ends the DTLS reader.
			_ = c.Close()
		}
		p.cancel()
		p.m.remove(p)
	})
}

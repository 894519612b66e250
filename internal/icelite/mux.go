package icelite

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/cow"
	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// Config configures a Mux.
type Config struct {
	// Certificate is presented to every viewer in DTLS; NewCertificate
	// makes one.
	Certificate tls.Certificate
	// ConsentTimeout closes a connected peer that sent no connectivity
	// check for this long (RFC 7675: browsers check every ~5 s). Default
	// 30 s.
	ConsentTimeout time.Duration
	// ConnectTimeout closes a peer that is not connected (ICE and DTLS)
	// this long after NewPeer. Default 30 s; callers usually close sooner.
	ConnectTimeout time.Duration
	// Log; nil discards.
	Log *slog.Logger
}

// Mux serves every Peer on one socket: it answers their connectivity
// checks and routes DTLS and SRTCP packets to them by source address.
type Mux struct {
	socks []*sock
	cfg   Config
	log   *slog.Logger
	fp    string

	mu      sync.Mutex
	closed  bool
	byUfrag map[string]*Peer
	// byAddr is read for every packet and changes only when a peer's
	// address is validated or the peer leaves: copy-on-write under mu.
	byAddr cow.Map[netip.AddrPort, *Peer]

	done chan struct{}
	wg   sync.WaitGroup
}

// sock is one of the Mux's sockets (one per local address when the
// server listens on every interface).
type sock struct {
	i    int
	conn PacketConn
	// fb gets what no peer claims (nil: dropped); fbReady is its
	// lock-free copy for the read loop.
	fb      *Fallback
	fbReady atomic.Pointer[Fallback]
}

// NewMux starts serving conns (one per local address). Close stops it
// and closes them.
func NewMux(conns []PacketConn, cfg Config) (*Mux, error) {
	if len(conns) == 0 {
		return nil, errors.New("icelite: no socket")
	}
	if len(cfg.Certificate.Certificate) == 0 {
		return nil, errors.New("icelite: no certificate")
	}
	if cfg.ConsentTimeout <= 0 {
		cfg.ConsentTimeout = 30 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mux{cfg: cfg, log: log, fp: fingerprint(cfg.Certificate.Certificate[0]),
		byUfrag: map[string]*Peer{}, done: make(chan struct{})}
	for i, c := range conns {
		m.socks = append(m.socks, &sock{i: i, conn: c})
	}
	m.wg.Add(1 + len(m.socks))
	for _, s := range m.socks {
		go m.readLoop(s)
	}
	go m.consentLoop()
	return m, nil
}

// Fingerprint is the certificate's a=fingerprint value ("sha-256 ...").
func (m *Mux) Fingerprint() string { return m.fp }

// LocalAddrs are the sockets' addresses, for the answer's candidates.
func (m *Mux) LocalAddrs() []net.Addr {
	out := make([]net.Addr, len(m.socks))
	for i, s := range m.socks {
		out[i] = s.conn.LocalAddr()
	}
	return out
}

// Close closes every peer and the socket.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	peers := make([]*Peer, 0, len(m.byUfrag))
	for _, p := range m.byUfrag {
		peers = append(peers, p)
	}
	m.mu.Unlock()
	for _, p := range peers {
		_ = p.Close()
	}
	close(m.done)
	var err error
	for _, s := range m.socks {
		if e := s.conn.Close(); e != nil && err == nil {
			err = e
		}
	}
	m.wg.Wait()
	return err
}

// NewPeer registers a viewer by the ICE credentials and DTLS fingerprint
// of its offer. The peer connects when the viewer's checks and DTLS
// handshake arrive; onRTCP (may be nil) gets its RTCP, on the Mux's read
// goroutine (it must not block).
func (m *Mux) NewPeer(remoteUfrag, remotePwd, remoteFingerprint string, onRTCP func(b []byte)) (*Peer, error) {
	if remoteUfrag == "" || len(remoteUfrag) > 256 || len(remotePwd) < 22 || len(remotePwd) > 256 {
		return nil, fmt.Errorf("ice-ufrag/ice-pwd: %w", ErrBadOffer)
	}
	fp, err := parseFingerprint(remoteFingerprint)
	if err != nil {
		return nil, err
	}
	p := newPeer(m, remoteUfrag, remotePwd, fp, onRTCP)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.byUfrag[p.ufrag] = p
	go p.handshake()
	return p, nil
}

// remove forgets p (on its Close).
func (m *Mux) remove(p *Peer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byUfrag[p.ufrag] == p {
		delete(m.byUfrag, p.ufrag)
	}
	m.byAddr.Edit(func(a map[netip.AddrPort]*Peer) {
		for k, v := range a {
			if v == p {
				delete(a, k)
			}
		}
	})
}

func (m *Mux) readLoop(s *sock) {
	defer m.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, from, err := s.conn.ReadFromAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-m.done:
				return
			default:
			}
			m.log.Debug("icelite read", "err", err)
			continue
		}
		from = unmap(from)
		b := buf[:n]
		claimed := false
		switch classify(b) {
		case classSTUN:
			// Responses to our triggered checks come from a peer's
			// address: ours too, and nothing to do.
			claimed = m.handleSTUN(s, b, from) || m.byAddr.Load()[from] != nil
		case classDTLS:
			if p := m.byAddr.Load()[from]; p != nil {
				p.dtlsIn(b)
				claimed = true
			}
		case classRTP:
			if p := m.byAddr.Load()[from]; p != nil {
				if isRTCP(b) {
					p.rtcpIn(b)
				}
				claimed = true
			}
		}
		if !claimed {
			if fb := s.fbReady.Load(); fb != nil {
				fb.push(b, from)
			}
		}
	}
}

// handleSTUN answers a viewer's connectivity check on the UDP socket and
// records the address it came from. It reports whether the message was
// for one of our peers (else it is the fallback's).
func (m *Mux) handleSTUN(s *sock, b []byte, from netip.AddrPort) bool {
	p, msg := m.checkFor(b)
	if p == nil {
		return msg != nil
	}
	if !m.answer(p, msg, from, func(resp []byte) { _, _ = s.conn.WriteToAddrPort(resp, from) }) {
		return true
	}
	m.mu.Lock()
	fresh := m.byUfrag[p.ufrag] == p && m.byAddr.Load()[from] != p
	if fresh {
		m.byAddr.Edit(func(a map[netip.AddrPort]*Peer) { a[from] = p })
	}
	m.mu.Unlock()
	p.checked(s, nil, from, msg.Contains(stun.AttrUseCandidate))
	if fresh {
		m.triggeredCheck(s, p, from)
	}
	return true
}

// checkFor decodes a Binding request and finds the peer it is for: (nil,
// nil) when it is not for one of ours, (nil, msg) when it is but fails
// authentication.
func (m *Mux) checkFor(b []byte) (*Peer, *stun.Message) {
	msg := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := msg.Decode(); err != nil || msg.Type != stun.BindingRequest {
		return nil, nil
	}
	var user stun.Username
	if err := user.GetFrom(msg); err != nil {
		return nil, nil
	}
	local, _, ok := strings.Cut(user.String(), ":")
	if !ok {
		return nil, nil
	}
	m.mu.Lock()
	p := m.byUfrag[local]
	m.mu.Unlock()
	if p == nil {
		return nil, nil
	}
	if stun.NewShortTermIntegrity(p.pwd).Check(msg) != nil || stun.Fingerprint.Check(msg) != nil {
		m.log.Debug("icelite: check failed authentication", "peer", p.ufrag)
		return nil, msg
	}
	return p, msg
}

// answer sends the success response to p's check msg from from.
func (m *Mux) answer(p *Peer, msg *stun.Message, from netip.AddrPort, send func([]byte)) bool {
	resp, err := stun.Build(msg, stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())},
		stun.NewShortTermIntegrity(p.pwd), stun.Fingerprint)
	if err != nil {
		return false
	}
	resp.Encode()
	send(resp.Raw)
	return true
}

// consentLoop closes peers whose viewer stopped checking (gone without a
// goodbye) or never connected.
func (m *Mux) consentLoop() {
	defer m.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case now := <-t.C:
			m.mu.Lock()
			var stale []*Peer
			for _, p := range m.byUfrag {
				if p.expired(now) {
					stale = append(stale, p)
				}
			}
			m.mu.Unlock()
			for _, p := range stale {
				p.fail(errConsent)
			}
		}
	}
}

var errConsent = errors.New("icelite: no consent (connectivity checks stopped or never connected)")

// randString is an ICE credential: 128 bits or more of randomness in
// ice-char (RFC 8839: ufrag >= 24 bits, pwd >= 128 bits).
func randString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// triggeredCheck sends one check back on a newly validated address, as a
// full agent's triggered check would (RFC 8445 section 7.3.1.4): a
// controlling viewer that sees its pair work both ways nominates it at
// once instead of at its next check tick (pion's waits up to 200 ms).
// The response needs no handling: the viewer's own checks pick the route.
func (m *Mux) triggeredCheck(s *sock, p *Peer, to netip.AddrPort) {
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(p.remoteUfrag+":"+p.ufrag),
		ice.AttrControlled(p.tieBreaker), ice.PriorityAttr(0x7e7fffff),
		stun.NewShortTermIntegrity(p.remotePwd), stun.Fingerprint)
	if err != nil {
		return
	}
	_, _ = s.conn.WriteToAddrPort(req.Raw, to)
}

package icelite

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	conn PacketConn
	cfg  Config
	log  *slog.Logger
	fp   string

	mu      sync.Mutex
	closed  bool
	byUfrag map[string]*Peer
	// byAddr is read for every packet and changes only when a peer's
	// address is validated or the peer leaves: copy-on-write under mu.
	byAddr atomic.Pointer[map[netip.AddrPort]*Peer]

	done chan struct{}
	wg   sync.WaitGroup
}

// NewMux starts serving conn. Close stops it and closes conn.
func NewMux(conn PacketConn, cfg Config) (*Mux, error) {
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
	m := &Mux{conn: conn, cfg: cfg, log: log, fp: fingerprint(cfg.Certificate.Certificate[0]),
		byUfrag: map[string]*Peer{}, done: make(chan struct{})}
	empty := map[netip.AddrPort]*Peer{}
	m.byAddr.Store(&empty)
	m.wg.Add(2)
	go m.readLoop()
	go m.consentLoop()
	return m, nil
}

// Fingerprint is the certificate's a=fingerprint value ("sha-256 ...").
func (m *Mux) Fingerprint() string { return m.fp }

// LocalAddr is the socket's address, for the answer's candidate.
func (m *Mux) LocalAddr() net.Addr { return m.conn.LocalAddr() }

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
	err := m.conn.Close()
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
	m.editAddrs(func(a map[netip.AddrPort]*Peer) {
		for k, v := range a {
			if v == p {
				delete(a, k)
			}
		}
	})
}

// editAddrs publishes an edited copy of byAddr; mu held.
func (m *Mux) editAddrs(edit func(map[netip.AddrPort]*Peer)) {
	next := maps.Clone(*m.byAddr.Load())
	edit(next)
	m.byAddr.Store(&next)
}

func (m *Mux) readLoop() {
	defer m.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, from, err := m.conn.ReadFromAddrPort(buf)
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
		switch classify(b) {
		case classSTUN:
			m.handleSTUN(b, from)
		case classDTLS:
			if p := (*m.byAddr.Load())[from]; p != nil {
				p.dtlsIn(b)
			}
		case classRTP:
			if p := (*m.byAddr.Load())[from]; p != nil && isRTCP(b) {
				p.rtcpIn(b)
			}
		}
	}
}

// handleSTUN answers a viewer's connectivity check (we are the lite,
// controlled side: we never send checks of our own).
func (m *Mux) handleSTUN(b []byte, from netip.AddrPort) {
	msg := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := msg.Decode(); err != nil || msg.Type != stun.BindingRequest {
		return
	}
	var user stun.Username
	if err := user.GetFrom(msg); err != nil {
		return
	}
	local, _, ok := strings.Cut(user.String(), ":")
	if !ok {
		return
	}
	m.mu.Lock()
	p := m.byUfrag[local]
	m.mu.Unlock()
	if p == nil {
		return
	}
	if stun.NewShortTermIntegrity(p.pwd).Check(msg) != nil || stun.Fingerprint.Check(msg) != nil {
		m.log.Debug("icelite: check failed authentication", "peer", p.ufrag)
		return
	}
	resp, err := stun.Build(msg, stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())},
		stun.NewShortTermIntegrity(p.pwd), stun.Fingerprint)
	if err != nil {
		return
	}
	resp.Encode()
	_, _ = m.conn.WriteToAddrPort(resp.Raw, from)
	nominated := msg.Contains(stun.AttrUseCandidate)
	m.mu.Lock()
	if m.byUfrag[local] == p && (*m.byAddr.Load())[from] != p {
		m.editAddrs(func(a map[netip.AddrPort]*Peer) { a[from] = p })
	}
	m.mu.Unlock()
	p.checked(from, nominated)
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

package icelite

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"
)

// ICE-TCP (RFC 6544), passive side only, with RFC 4571 framing: for
// viewers whose networks block UDP. The listener is shared with the
// fallback stack: a connection whose first check is for one of our peers
// is ours, any other is handed on with its first bytes replayed.

// ServeTCP accepts ICE-TCP connections on ln and returns the listener the
// fallback stack (pion's TCP mux) accepts the connections we do not claim
// from. Closing the Mux closes ln.
func (m *Mux) ServeTCP(ln net.Listener) net.Listener {
	fl := &tcpFallback{ln: ln, conns: make(chan net.Conn, 16), done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		<-m.done
		_ = ln.Close()
	}()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				fl.close()
				return
			}
			go m.firstTCPPacket(c, fl)
		}
	}()
	return fl
}

// maxFrame is the largest framed packet we take (RFC 4571: 16-bit length).
const maxFrame = 1 << 16

func readFrame(c net.Conn, buf []byte) (int, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		return 0, nil, err
	}
	return n, hdr[:], nil
}

// firstTCPPacket reads a new connection's first frame and decides whose
// connection it is.
func (m *Mux) firstTCPPacket(c net.Conn, fl *tcpFallback) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, maxFrame)
	n, hdr, err := readFrame(c, buf)
	if err != nil {
		_ = c.Close()
		return
	}
	p, msg := m.checkFor(buf[:n])
	if msg == nil {
		// Not a check for one of ours: the fallback's, bytes replayed.
		fl.push(&replayConn{Conn: c, pending: append(append([]byte(nil), hdr...), buf[:n]...)})
		return
	}
	if p == nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	from := addrPortOf(c.RemoteAddr())
	t := &tcpLink{c: c}
	if !p.attachTCP(t) || !m.answer(p, msg, from, func(b []byte) { _, _ = t.write(b) }) {
		_ = c.Close()
		return
	}
	p.checked(nil, t, from, msg.Contains(stun.AttrUseCandidate))
	m.readTCP(p, t, buf)
}

// readTCP dispatches a peer's framed packets until the connection ends;
// the peer ends with it if it was the viewer's route.
func (m *Mux) readTCP(p *Peer, t *tcpLink, buf []byte) {
	defer func() {
		_ = t.c.Close()
		if r := p.route.Load(); r != nil && r.tcp == t {
			p.fail(errTCPClosed)
		}
	}()
	for {
		n, _, err := readFrame(t.c, buf)
		if err != nil {
			return
		}
		b := buf[:n]
		switch classify(b) {
		case classSTUN:
			if q, msg := m.checkFor(b); q == p {
				m.answer(p, msg, t.from(), func(r []byte) { _, _ = t.write(r) })
				p.checked(nil, t, t.from(), msg.Contains(stun.AttrUseCandidate))
			}
		case classDTLS:
			p.dtlsIn(b)
		case classRTP:
			if isRTCP(b) {
				p.rtcpIn(b)
			}
		}
	}
}

var errTCPClosed = errors.New("icelite: ice-tcp connection closed")

// tcpLink is a peer's ICE-TCP connection: writes are framed and
// serialized.
type tcpLink struct {
	c   net.Conn
	mu  sync.Mutex
	buf []byte
}

func (t *tcpLink) from() netip.AddrPort { return addrPortOf(t.c.RemoteAddr()) }

func (t *tcpLink) write(b []byte) (int, error) {
	if len(b) >= maxFrame {
		return 0, errors.New("icelite: packet too large for ICE-TCP")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = binary.BigEndian.AppendUint16(t.buf[:0], uint16(len(b)))
	t.buf = append(t.buf, b...)
	// A viewer that stops reading must not hold the sender up for long.
	_ = t.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := t.c.Write(t.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return unmap(ta.AddrPort())
	}
	return netip.AddrPort{}
}

// replayConn gives back the bytes read before the connection was handed
// on, then reads the connection.
type replayConn struct {
	net.Conn
	pending []byte
}

func (r *replayConn) Read(b []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(b, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.Conn.Read(b)
}

// tcpFallback is the listener the fallback stack accepts from.
type tcpFallback struct {
	ln    net.Listener
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (f *tcpFallback) push(c net.Conn) {
	select {
	case f.conns <- c:
	case <-f.done:
		_ = c.Close()
	}
}

func (f *tcpFallback) close() { f.once.Do(func() { close(f.done) }) }

// Accept implements net.Listener.
func (f *tcpFallback) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; it closes the shared listener.
func (f *tcpFallback) Close() error {
	f.close()
	return f.ln.Close()
}

// Addr implements net.Listener.
func (f *tcpFallback) Addr() net.Addr { return f.ln.Addr() }

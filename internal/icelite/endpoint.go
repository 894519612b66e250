package icelite

import (
	"net"
	"os"
	"sync"
	"time"
)

// endpoint is the net.PacketConn a peer's DTLS connection runs on: reads
// come from the Mux's read goroutine, writes go to the viewer's address
// on the shared socket.
type endpoint struct {
	p *Peer

	mu       sync.Mutex
	deadline time.Time

	closeOnce sync.Once
	closed    chan struct{}
}

func newEndpoint(p *Peer) *endpoint { return &endpoint{p: p, closed: make(chan struct{})} }

func (e *endpoint) ReadFrom(b []byte) (int, net.Addr, error) {
	e.mu.Lock()
	d := e.deadline
	e.mu.Unlock()
	var timeout <-chan time.Time
	if !d.IsZero() {
		wait := time.Until(d)
		if wait <= 0 {
			return 0, nil, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case pkt := <-e.p.dtlsCh:
		return copy(b, pkt), e.RemoteAddr(), nil
	case <-timeout:
		return 0, nil, os.ErrDeadlineExceeded
	case <-e.closed:
		return 0, nil, net.ErrClosed
	case <-e.p.ctx.Done():
		return 0, nil, net.ErrClosed
	}
}

func (e *endpoint) WriteTo(b []byte, _ net.Addr) (int, error) {
	return e.p.send(b)
}

// Close ends reads (the DTLS connection closes it after its
// close_notify); the socket is the Mux's.
func (e *endpoint) Close() error {
	e.closeOnce.Do(func() { close(e.closed) })
	return nil
}

func (e *endpoint) LocalAddr() net.Addr {
	if r := e.p.route.Load(); r != nil && r.s != nil {
		return r.s.conn.LocalAddr()
	}
	return e.p.m.socks[0].conn.LocalAddr()
}

// RemoteAddr is the viewer's current address (a placeholder before it).
func (e *endpoint) RemoteAddr() net.Addr {
	if a := e.p.RemoteAddr(); a.IsValid() {
		return net.UDPAddrFromAddrPort(a)
	}
	return &net.UDPAddr{}
}

func (e *endpoint) SetDeadline(t time.Time) error { return e.SetReadDeadline(t) }

func (e *endpoint) SetReadDeadline(t time.Time) error {
	e.mu.Lock()
	e.deadline = t
	e.mu.Unlock()
	return nil
}

func (e *endpoint) SetWriteDeadline(time.Time) error { return nil }

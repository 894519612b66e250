package icelite

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// fallbackQueue bounds the packets waiting for the fallback reader; more
// are dropped, as a full socket buffer would.
const fallbackQueue = 2048

// Fallback is the Mux's socket as seen by another ICE stack (pion's UDP
// mux, for the sessions this transport does not serve: publishers, relays,
// data channels): its reads are every packet no Peer claimed, its writes
// go to the shared socket. Get it with Mux.Fallback before packets arrive.
type Fallback struct {
	m  *Mux
	s  *sock
	ch chan fallbackPacket

	mu       sync.Mutex
	deadline time.Time
	wake     chan struct{}
	closed   chan struct{}
	once     sync.Once
}

// fallbackPacket is a queued packet in a pooled buffer (bp, returned to
// the pool once read: no allocation per packet).
type fallbackPacket struct {
	bp   *[]byte
	from netip.AddrPort
}

var fallbackBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1500); return &b }}

// Fallback returns the fallback conn of the Mux's i-th socket (the same
// one every call); without a call, unclaimed packets are dropped.
func (m *Mux) Fallback(i int) *Fallback {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.socks[i]
	if s.fb == nil {
		s.fb = &Fallback{m: m, s: s, ch: make(chan fallbackPacket, fallbackQueue), wake: make(chan struct{}), closed: make(chan struct{})}
		s.fbReady.Store(s.fb)
	}
	return s.fb
}

// push queues an unclaimed packet (Mux read goroutine).
func (f *Fallback) push(b []byte, from netip.AddrPort) {
	bp := fallbackBufs.Get().(*[]byte)
	*bp = append((*bp)[:0], b...)
	select {
	case f.ch <- fallbackPacket{bp: bp, from: from}:
	default:
		fallbackBufs.Put(bp)
	}
}

// ReadFromAddrPort reads the next unclaimed packet.
func (f *Fallback) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err, again := f.readOnce(p)
		if !again {
			return n, from, err
		}
	}
}

// readOnce waits for a packet under the current deadline; again when the
// deadline changed meanwhile.
func (f *Fallback) readOnce(p []byte) (n int, from netip.AddrPort, err error, again bool) {
	f.mu.Lock()
	d, wake := f.deadline, f.wake
	f.mu.Unlock()
	var timeout <-chan time.Time
	if !d.IsZero() {
		wait := time.Until(d)
		if wait <= 0 {
			return 0, netip.AddrPort{}, os.ErrDeadlineExceeded, false
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case pk := <-f.ch:
		n := copy(p, *pk.bp)
		fallbackBufs.Put(pk.bp)
		return n, pk.from, nil, false
	case <-timeout:
		return 0, netip.AddrPort{}, os.ErrDeadlineExceeded, false
	case <-wake:
		return 0, netip.AddrPort{}, nil, true
	case <-f.closed:
	case <-f.m.done:
	}
	return 0, netip.AddrPort{}, net.ErrClosed, false
}

// ReadFrom implements net.PacketConn.
func (f *Fallback) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := f.ReadFromAddrPort(p)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(a), nil
}

// WriteToAddrPort writes to the shared socket.
func (f *Fallback) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	return f.s.conn.WriteToAddrPort(p, addr)
}

// WriteTo implements net.PacketConn.
func (f *Fallback) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, net.InvalidAddrError("not a UDP address")
	}
	return f.s.conn.WriteToAddrPort(p, ua.AddrPort())
}

// Close ends reads; the socket is the Mux's.
func (f *Fallback) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// LocalAddr is the shared socket's address.
func (f *Fallback) LocalAddr() net.Addr { return f.s.conn.LocalAddr() }

// SetDeadline sets the read deadline.
func (f *Fallback) SetDeadline(t time.Time) error { return f.SetReadDeadline(t) }

// SetReadDeadline sets the read deadline, also for a read in progress.
func (f *Fallback) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	f.deadline = t
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
	return nil
}

// SetWriteDeadline is a no-op (UDP writes do not block for long).
func (f *Fallback) SetWriteDeadline(time.Time) error { return nil }

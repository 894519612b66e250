package rtc

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bookmygig/bookmygig/internal/cow"
)

// GSO limits: at most 64 segments and a 64 KiB datagram per send.
const (
	gsoMaxSegments = 64
	gsoMaxBytes    = 60000
)

// BatchConn is the ICE UDP socket with send batching. pion writes every
// SRTP packet with its own sendto; on the fan-out path that syscall (and the
// per-packet trip through the kernel stack) is most of the server's CPU. A
// viewer's goroutine corks its destination while it writes a burst (one
// frame's packets, all but the last of equal size), and the packets leave
// in one sendmsg with UDP_SEGMENT (GSO): the kernel splits them as late as
// possible. Writes to destinations nobody corked go straight out, and so do
// all writes when the kernel refuses GSO.
type BatchConn struct {
	*net.UDPConn
	// raw is the socket for Fanout's sendmmsg (nil if unavailable); v6
	// says its family.
	raw syscall.RawConn
	v6  bool
	gso atomic.Bool
	// dests is looked up on every packet written to the socket and
	// changes only when a viewer connects or leaves: a copy-on-write map
	// costs one plain map read per packet.
	dests cow.Map[netip.AddrPort, *UDPDest]
}

func newBatchConn(c *net.UDPConn) *BatchConn {
	b := &BatchConn{UDPConn: c}
	b.gso.Store(gsoSupported)
	b.raw, _ = c.SyscallConn()
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok {
		b.v6 = la.IP.To4() == nil
	}
	return b
}

// UDPDest is one viewer's destination: while corked, writes to it are
// gathered and sent by flush.
type UDPDest struct {
	conn   *BatchConn
	addr   netip.AddrPort
	corked atomic.Bool

	mu      sync.Mutex
	buf     []byte
	segSize int
	count   int
	short   bool // the last segment is shorter: nothing may follow it
	oob     []byte
	sends   atomic.Uint64
	packets atomic.Uint64
}

// dest registers addr for corking; release removes it.
func (b *BatchConn) dest(addr netip.AddrPort) *UDPDest {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	d := &UDPDest{conn: b, addr: addr, buf: make([]byte, 0, gsoMaxBytes+1500)}
	b.dests.Edit(func(m map[netip.AddrPort]*UDPDest) { m[addr] = d })
	return d
}

// Release removes d and sends what it gathered.
func (b *BatchConn) Release(d *UDPDest) {
	b.dests.Edit(func(m map[netip.AddrPort]*UDPDest) {
		if m[d.addr] == d {
			delete(m, d.addr)
		}
	})
	d.mu.Lock()
	d.flushLocked()
	d.mu.Unlock()
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter (allocation-free
// reads for pion's mux).
func (b *BatchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.ReadFromUDPAddrPort(p)
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (b *BatchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if d := b.dests.Load()[netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())]; d != nil && d.corked.Load() {
		return d.add(p)
	}
	return b.WriteToUDPAddrPort(p, addr)
}

// WriteTo implements net.PacketConn through the same path.
func (b *BatchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		return b.WriteToAddrPort(p, ua.AddrPort())
	}
	return b.UDPConn.WriteTo(p, addr)
}

func (d *UDPDest) add(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.conn.gso.Load() {
		return d.conn.WriteToUDPAddrPort(p, d.addr)
	}
	if d.count > 0 && !gsoFits(d.count, d.segSize, len(d.buf), d.short, len(p)) {
		d.flushLocked()
	}
	if d.count == 0 {
		d.segSize = len(p)
	} else if len(p) < d.segSize {
		d.short = true
	}
	d.buf = append(d.buf, p...)
	d.count++
	if d.count == gsoMaxSegments {
		d.flushLocked()
	}
	return len(p), nil
}

// gsoFits reports whether a packet of n bytes can join a GSO message of
// count packets of seg bytes (size in all): no more than gsoMaxSegments
// and gsoMaxBytes, and only the last packet may be shorter than seg.
func gsoFits(count, seg, size int, short bool, n int) bool {
	return !short && n <= seg && count < gsoMaxSegments && size+n <= gsoMaxBytes
}

// sendSegments sends buf as packets of seg bytes (the last may be
// shorter), one system call each: the path when GSO is refused.
func (b *BatchConn) sendSegments(buf []byte, seg int, addr netip.AddrPort) {
	for off := 0; off < len(buf); off += seg {
		_, _ = b.WriteToUDPAddrPort(buf[off:min(off+seg, len(buf))], addr)
	}
}

// Cork starts gathering; Flush sends what was gathered and stops.
func (d *UDPDest) Cork() { d.corked.Store(true) }

// Flush sends what Cork gathered and stops gathering.
func (d *UDPDest) Flush() {
	d.corked.Store(false)
	d.mu.Lock()
	d.flushLocked()
	d.mu.Unlock()
}

func (d *UDPDest) flushLocked() {
	if d.count == 0 {
		return
	}
	d.sends.Add(1)
	d.packets.Add(uint64(d.count))
	if d.count == 1 {
		_, _ = d.conn.WriteToUDPAddrPort(d.buf, d.addr)
	} else if err := d.sendGSO(); err != nil {
		// No GSO here (old kernel, a device without checksum offload):
		// send them one by one from now on.
		d.conn.gso.Store(false)
		d.conn.sendSegments(d.buf, d.segSize, d.addr)
	}
	d.buf = d.buf[:0]
	d.count, d.short = 0, false
}

// Stats returns how many sends d made, how many packets they carried, and
// whether its socket still uses GSO.
func (d *UDPDest) Stats() (sends, packets uint64, gso bool) {
	return d.sends.Load(), d.packets.Load(), d.conn.gso.Load()
}

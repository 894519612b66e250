package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/pion/transport/v5"
)

// The viewer's receipt of a frame is when the kernel received the frame's
// last packet (SO_TIMESTAMPNS), not when this process got round to reading
// it: with 200 pion viewers on one core, this process's own queueing would
// otherwise count as server latency. SRTP leaves the RTP header in clear, so
// the socket wrapper reads sequence, timestamp, marker and SSRC before pion
// decrypts, and the track reader looks the time up by SSRC and timestamp.

// rxStamps maps a video frame (SSRC, RTP timestamp of its marker packet) to
// the kernel's receive time of that packet, in unix µs.
type rxStamps struct {
	mu sync.Mutex
	at map[uint64]int64
}

func newRxStamps() *rxStamps { return &rxStamps{at: make(map[uint64]int64)} }

func stampKey(ssrc, ts uint32) uint64 { return uint64(ssrc)<<32 | uint64(ts) }

// take returns and forgets the receive time of a frame's marker packet.
func (r *rxStamps) take(ssrc, ts uint32) (int64, bool) {
	if r == nil {
		return 0, false
	}
	k := stampKey(ssrc, ts)
	r.mu.Lock()
	at, ok := r.at[k]
	delete(r.at, k)
	r.mu.Unlock()
	return at, ok
}

// note records the receive time of a datagram if it is an RTP packet with
// the marker bit (the last packet of a video frame; audio packets carry no
// marker after the first).
func (r *rxStamps) note(p []byte, at int64) {
	if r == nil || len(p) < 12 || p[0]>>6 != 2 || p[1]&0x80 == 0 {
		return
	}
	if pt := p[1] & 0x7f; pt >= 64 && pt <= 95 {
		return // RTCP (200-223 with the marker bit position set)
	}
	ts, ssrc := binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:])
	r.mu.Lock()
	if len(r.at) > 1<<20 {
		clear(r.at) // frames nobody took (a viewer that left)
	}
	r.at[stampKey(ssrc, ts)] = at
	r.mu.Unlock()
}

// stampConn is a viewer's UDP socket that reads with kernel receive
// timestamps and, with gro, UDP GRO: the server's GSO sends (one frame's
// packets of one size) arrive as one datagram this wrapper hands to pion a
// packet at a time, one recvmsg for up to a frame instead of one per packet.
type stampConn struct {
	transport.UDPConn
	raw    *net.UDPConn
	stamps *rxStamps

	mu   sync.Mutex
	oob  []byte
	buf  []byte // the last datagram read
	rest []byte // its segments not handed out yet
	seg  int    // their size
	from netip.AddrPort
	at   int64
}

// Socket options and control messages from linux/udp.h.
const (
	solUDP = 17
	udpGRO = 104
)

func newStampConn(c transport.UDPConn, stamps *rxStamps, gro bool) transport.UDPConn {
	raw, ok := c.(*net.UDPConn)
	if !ok || (stamps == nil && !gro) {
		return c
	}
	sc, err := raw.SyscallConn()
	if err != nil {
		return c
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		if stamps != nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		}
		if gro && serr == nil {
			serr = syscall.SetsockoptInt(int(fd), solUDP, udpGRO, 1)
		}
	}); err != nil || serr != nil {
		return c
	}
	space := syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))) + syscall.CmsgSpace(4)
	return &stampConn{UDPConn: c, raw: raw, stamps: stamps, oob: make([]byte, space), buf: make([]byte, 64<<10)}
}

// ReadFromAddrPort is what pion's ICE reads with (ice.AddrPortReaderWriter).
func (c *stampConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.mu.Lock() // one reader per socket in pion; the lock guards the buffers anyway
	defer c.mu.Unlock()
	if len(c.rest) == 0 {
		n, oobn, _, addr, err := c.raw.ReadMsgUDPAddrPort(c.buf, c.oob)
		if err != nil {
			return 0, addr, err
		}
		c.rest, c.seg, c.from, c.at = c.buf[:n], n, addr, time.Now().UnixMicro()
		c.parseOOB(c.oob[:oobn])
	}
	m := min(c.seg, len(c.rest))
	n := copy(b, c.rest[:m])
	c.rest = c.rest[m:]
	c.stamps.note(b[:n], c.at)
	return n, c.from, nil
}

// parseOOB takes the receive time and the GRO segment size from the
// control messages.
func (c *stampConn) parseOOB(oob []byte) {
	for len(oob) >= syscall.CmsgLen(0) {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.CmsgLen(0) || l > len(oob) {
			return
		}
		data := oob[syscall.CmsgLen(0):l]
		switch {
		case h.Level == syscall.SOL_SOCKET && h.Type == syscall.SO_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(syscall.Timespec{})):
			ts := (*syscall.Timespec)(unsafe.Pointer(&data[0]))
			c.at = time.Unix(ts.Unix()).UnixMicro()
		case h.Level == solUDP && h.Type == udpGRO && len(data) >= 4:
			if seg := int(binary.NativeEndian.Uint32(data)); seg > 0 {
				c.seg = seg
			}
		}
		oob = oob[min(syscall.CmsgSpace(l-syscall.CmsgLen(0)), len(oob)):]
	}
}

// WriteToAddrPort completes ice.AddrPortReaderWriter.
func (c *stampConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.raw.WriteToUDPAddrPort(b, addr)
}

// ReadFrom reads through the same path for callers of net.PacketConn.
func (c *stampConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

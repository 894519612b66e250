package icelite

import (
	"net"
	"net/netip"
)

// PacketConn is the socket a Mux serves: a *net.UDPConn (through
// UDPConn), or the SFU's batching socket, whose writes to a corked
// destination are gathered into one GSO send.
type PacketConn interface {
	ReadFromAddrPort(p []byte) (int, netip.AddrPort, error)
	WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	Close() error
}

// UDPConn adapts a *net.UDPConn to PacketConn.
type UDPConn struct{ *net.UDPConn }

// ReadFromAddrPort implements PacketConn.
func (c UDPConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.ReadFromUDPAddrPort(p)
}

// WriteToAddrPort implements PacketConn.
func (c UDPConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	return c.WriteToUDPAddrPort(p, addr)
}

// packet classes by first byte (RFC 7983 section 7).
const (
	classSTUN = iota
	classDTLS
	classRTP
	classOther
)

func classify(b []byte) int {
	if len(b) == 0 {
		return classOther
	}
	switch c := b[0]; {
	case c <= 3:
		return classSTUN
	case c >= 20 && c <= 63:
		return classDTLS
	case c >= 128 && c <= 191:
		return classRTP
	}
	return classOther
}

// isRTCP tells RTCP from RTP in the RTP class (RFC 5761 section 4).
func isRTCP(b []byte) bool {
	return len(b) >= 2 && b[1] >= 192 && b[1] <= 223
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

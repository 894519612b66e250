//go:build linux

package rtc

import (
	"encoding/binary"
	"errors"
	"syscall"
	"unsafe"
)

// gsoSupported: Linux has UDP_SEGMENT since 4.18; older kernels fail the
// first send and BatchConn falls back.
const gsoSupported = true

// udpSegment is UDP_SEGMENT from linux/udp.h.
const udpSegment = 103

// gsoControlLen is the size of the control message gsoControl writes.
var gsoControlLen = syscall.CmsgSpace(2)

// gsoControl writes into oob (gsoControlLen bytes) the control message
// that makes the kernel cut one datagram into seg-byte packets.
func gsoControl(oob []byte, seg int) {
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = syscall.IPPROTO_UDP
	h.Type = udpSegment
	h.SetLen(syscall.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[syscall.CmsgLen(0):], uint16(seg))
}

// gsoRefused reports whether a send failed because the kernel or device
// cannot segment: the socket then sends packets one by one.
func gsoRefused(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOPROTOOPT) || errors.Is(err, syscall.EOPNOTSUPP)
}

// sendGSO sends the gathered packets as one datagram the kernel segments
// into d.segSize pieces. A send error other than "no GSO" is ignored, as it
// would be for single packets (UDP).
func (d *UDPDest) sendGSO() error {
	if d.oob == nil {
		d.oob = make([]byte, gsoControlLen)
	}
	gsoControl(d.oob, d.segSize)
	_, _, err := d.conn.WriteMsgUDPAddrPort(d.buf, d.oob, d.addr)
	if err != nil && gsoRefused(err) {
		return err
	}
	return nil
}

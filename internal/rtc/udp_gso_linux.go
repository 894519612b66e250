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

// sendGSO sends the gathered packets as one datagram the kernel segments
// into d.segSize pieces. A send error other than "no GSO" is ignored, as it
// would be for single packets (UDP).
func (d *UDPDest) sendGSO() error {
	if d.oob == nil {
		d.oob = make([]byte, syscall.CmsgSpace(2))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&d.oob[0]))
		h.Level = syscall.IPPROTO_UDP
		h.Type = udpSegment
		h.SetLen(syscall.CmsgLen(2))
	}
	binary.NativeEndian.PutUint16(d.oob[syscall.CmsgLen(0):], uint16(d.segSize))
	_, _, err := d.conn.WriteMsgUDPAddrPort(d.buf, d.oob, d.addr)
	if err != nil && (errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOPROTOOPT) || errors.Is(err, syscall.EOPNOTSUPP)) {
		return err
	}
	return nil
}

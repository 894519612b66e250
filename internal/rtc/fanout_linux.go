//go:build linux

package rtc

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// fanoutSys is the scratch sendmmsg needs, reused by every Flush.
type fanoutSys struct {
	hdrs  [fanoutMsgs]mmsghdr
	iovs  [fanoutMsgs]unix.Iovec
	names [fanoutMsgs]unix.RawSockaddrInet6
	oob   [fanoutMsgs][32]byte // one UDP_SEGMENT option (CMSG_SPACE(2) is 24)
}

// send hands msgs (all to conn) to the kernel in as few sendmmsg calls as
// it takes; a message the kernel refuses is dropped, as a lost datagram
// would be, and GSO refused makes the socket send packets one by one from
// then on (as UDPDest does). It returns how many system calls it made.
func (f *Fanout) send(conn *BatchConn, msgs []fanMsg) (calls int) {
	if conn.raw == nil || !conn.gso.Load() && hasGSO(msgs) {
		return f.sendEach(conn, msgs)
	}
	s := &f.sys
	for i := range msgs {
		m := &msgs[i]
		h := &s.hdrs[i]
		*h = mmsghdr{}
		s.iovs[i].Base = &f.buf[m.off]
		s.iovs[i].SetLen(m.end - m.off)
		h.hdr.Iov = &s.iovs[i]
		h.hdr.SetIovlen(1)
		h.hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		h.hdr.Namelen = sockaddr(&s.names[i], m.d.addr, conn.v6)
		if m.count > 1 {
			oob := s.oob[i][:gsoControlLen]
			gsoControl(oob, m.seg)
			h.hdr.Control = &oob[0]
			h.hdr.SetControllen(len(oob))
		}
	}
	sent := 0
	for sent < len(msgs) {
		var errno syscall.Errno
		err := conn.raw.Write(func(fd uintptr) bool {
			calls++
			n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[sent])), uintptr(len(msgs)-sent), 0, 0, 0)
			switch e {
			case 0:
				sent += int(n)
			case syscall.EAGAIN:
				return false // wait until the socket takes more
			case syscall.EINTR:
			default:
				errno = e
			}
			return true
		})
		if err != nil {
			return calls // the socket is closed
		}
		if errno == 0 {
			continue
		}
		// msgs[sent] was refused.
		if m := msgs[sent]; m.count > 1 && gsoRefused(errno) {
			conn.gso.Store(false)
			return calls + f.sendEach(conn, msgs[sent:])
		}
		sent++
	}
	return calls
}

func hasGSO(msgs []fanMsg) bool {
	for _, m := range msgs {
		if m.count > 1 {
			return true
		}
	}
	return false
}

// sockaddr writes addr as the socket's family wants it and returns its
// length.
func sockaddr(sa *unix.RawSockaddrInet6, addr netip.AddrPort, v6 bool) uint32 {
	if !v6 && addr.Addr().Is4() {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*s4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.Addr().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:], addr.Port())
		return unix.SizeofSockaddrInet4
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: addr.Addr().As16()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], addr.Port())
	return unix.SizeofSockaddrInet6
}

//go:build unix

package chat

import "syscall"

const canWriteNow = true

// writeNow makes one non-blocking write(2) on the socket: the function given
// to RawConn.Write returns true, so it never waits for the socket to become
// writable. It returns how much was written; 0 when the socket is full.
func writeNow(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), p)
			if werr != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case werr == syscall.EAGAIN:
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}

//go:build !unix

package chat

import (
	"errors"
	"syscall"
)

// Without a unix socket API every write goes through the writer goroutine.
const canWriteNow = false

func writeNow(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("chat: non-blocking writes are not supported here")
}

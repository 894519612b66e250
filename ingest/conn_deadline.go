package ingest

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineConn wraps a client connection: every Read and Write sets its own
// deadline (go-rtmp sets none, so without this a dead publisher would hold
// its gig forever), and the bytes read without the handler seeing a complete
// message are capped, because go-rtmp buffers a message of any declared
// size (up to 16 MiB per chunk stream) before it is handed over.
type deadlineConn struct {
	net.Conn
	cfg *Config

	handshakeDone atomic.Bool
	// unprocessed is only touched on the read goroutine (Read and the
	// handler callbacks both run there).
	unprocessed int

	closeOnce sync.Once
	onClose   func()
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if c.handshakeDone.Load() {
		// The handshake runs under one overall deadline set at accept.
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	c.unprocessed += n
	if err == nil && c.unprocessed > c.cfg.MaxMessageBytes+64<<10 {
		return n, fmt.Errorf("%d bytes without a complete message: %w", c.unprocessed, ErrMessageTooLarge)
	}
	return n, err
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// progress is called by the handler for every complete message.
func (c *deadlineConn) progress() { c.unprocessed = 0 }

// startMessages ends the handshake phase: from now on each read has its own
// ReadTimeout deadline.
func (c *deadlineConn) startMessages() {
	c.handshakeDone.Store(true)
	_ = c.Conn.SetDeadline(time.Time{})
}

// Close is called by go-rtmp when the connection's goroutine ends; it
// untracks the connection exactly once.
func (c *deadlineConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(c.onClose)
	return err
}

package ingest

import (
	"container/list"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineConn wraps a client connection: every Read and Write sets its own
// deadline (go-rtmp sets none, so without this a dead publisher would hold
// its gig forever); until the connection publishes, reads also stop at the
// publish deadline and after Config.PrePublishBytes; and every byte passes
// the chunkGuard before go-rtmp parses it.
type deadlineConn struct {
	net.Conn
	cfg *Config

	ip       string
	accepted time.Time
	// admitted and waiting are guarded by Server.mu (see conn_admit.go).
	admitted bool
	waiting  *list.Element

	handshakeDone atomic.Bool
	publishing    atomic.Bool
	// preRead and guard are only touched on the read goroutine.
	preRead int
	guard   *chunkGuard
	ctr     *counters
	// reason is why this package closed the connection, for the log.
	reason atomic.Pointer[error]

	closeOnce sync.Once
	onClose   func()
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	publishing := c.publishing.Load()
	if !publishing {
		left := c.cfg.PrePublishBytes - c.preRead
		if left <= 0 {
			return 0, c.closing(fmt.Errorf("%d bytes: %w", c.preRead, ErrPrePublishLimit))
		}
		// Never take more than the budget off the socket.
		p = p[:min(len(p), left)]
	}
	if c.handshakeDone.Load() {
		// The handshake runs under one overall deadline set at accept.
		d := time.Now().Add(c.cfg.ReadTimeout)
		if !publishing {
			d = minTime(d, c.publishDeadline())
		}
		if err := c.Conn.SetReadDeadline(d); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if !publishing {
		c.preRead += n
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(c.publishDeadline()) {
			err = c.closing(fmt.Errorf("%v after accept: %w", c.cfg.PublishTimeout, ErrPublishTimeout))
		} else if err == nil && c.preRead >= c.cfg.PrePublishBytes {
			// Fail now rather than on the next read: go-rtmp would parse
			// these bytes first.
			return 0, c.closing(fmt.Errorf("%d bytes: %w", c.preRead, ErrPrePublishLimit))
		}
	}
	if n > 0 {
		if gerr := c.guard.feed(p[:n]); gerr != nil {
			// go-rtmp must not parse these bytes.
			return 0, c.closing(gerr)
		}
	}
	return n, err
}

// closing records err as the reason the connection closes (the first one
// wins) and counts it.
func (c *deadlineConn) closing(err error) error {
	if c.reason.CompareAndSwap(nil, &err) && c.ctr != nil {
		if errors.Is(err, ErrPublishTimeout) || errors.Is(err, ErrPrePublishLimit) {
			c.ctr.prePublishClosed.Add(1)
		} else {
			c.ctr.malformed.Add(1)
		}
	}
	return err
}

// closeReason is the error closing set, or nil.
func (c *deadlineConn) closeReason() error {
	if e := c.reason.Load(); e != nil {
		return *e
	}
	return nil
}

func (c *deadlineConn) publishDeadline() time.Time { return c.accepted.Add(c.cfg.PublishTimeout) }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// startMessages ends the handshake phase: from now on each read has its own
// ReadTimeout deadline (and the publish deadline until publishing).
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

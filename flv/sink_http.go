package flv

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"
)

// sink writes a viewer's bytes to its connection.
type sink interface {
	// start sends the FLV file header.
	start(hdr []byte) error
	// write sends a batch of tags; it must make progress within the stall
	// timeout or fail.
	write(tags []*tag) error
	// finish ends the response cleanly (clean) or just closes it.
	finish(clean bool)
	// kill closes the connection at once, unblocking a stuck write.
	kill()
}

// chunkedSink is HTTP/1.x on a hijacked connection: a whole batch of tags
// becomes one chunk written with one writev, straight from the shared tag
// buffers (no per-viewer copy and no bufio in between).
type chunkedSink struct {
	conn    net.Conn
	chunked bool
	stall   time.Duration
	hdr     []byte
	iov     iovec
	dl      deadline
}

var crlf = []byte("\r\n")

func newChunkedSink(conn net.Conn, rw *bufio.ReadWriter, r *http.Request, h http.Header, stall time.Duration) (*chunkedSink, error) {
	s := &chunkedSink{conn: conn, chunked: r.ProtoAtLeast(1, 1), stall: stall, dl: deadline{stall: stall}}
	b := []byte("HTTP/1.1 200 OK\r\n")
	if !r.ProtoAtLeast(1, 1) {
		b = []byte("HTTP/1.0 200 OK\r\n")
	}
	if s.chunked {
		h.Set("Transfer-Encoding", "chunked")
	}
	h.Set("Connection", "close")
	for k, vs := range h {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, crlf...)
		}
	}
	b = append(b, crlf...)
	_ = conn.SetWriteDeadline(time.Now().Add(stall))
	if _, err := conn.Write(b); err != nil {
		return nil, err
	}
	_ = rw // nothing buffered: no header was written through it
	return s, nil
}

func (s *chunkedSink) start(hdr []byte) error {
	return s.send(hdr, nil)
}

func (s *chunkedSink) write(tags []*tag) error {
	return s.send(nil, tags)
}

// send writes first and tags as one chunk, reusing the iovec array.
func (s *chunkedSink) send(first []byte, tags []*tag) error {
	n := len(first)
	for _, t := range tags {
		n += t.size()
	}
	s.iov.reset()
	if s.chunked {
		s.hdr = strconv.AppendInt(s.hdr[:0], int64(n), 16)
		s.hdr = append(s.hdr, crlf...)
		s.iov.add(s.hdr)
	}
	if first != nil {
		s.iov.add(first)
	}
	for _, t := range tags {
		s.iov.add(t.flv())
	}
	if s.chunked {
		s.iov.add(crlf)
	}
	if err := s.dl.extend(s.conn); err != nil {
		s.iov.reset()
		return err
	}
	return s.iov.writeTo(s.conn)
}

func (s *chunkedSink) finish(clean bool) {
	if clean && s.chunked {
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = s.conn.Write([]byte("0\r\n\r\n"))
	}
	if tc, ok := s.conn.(*net.TCPConn); ok && clean {
		// Let the terminator reach the player before the socket goes.
		_ = tc.CloseWrite()
	}
	_ = s.conn.Close()
}

func (s *chunkedSink) kill() { _ = s.conn.Close() }

// writerSink is the fallback when the connection cannot be hijacked
// (HTTP/2): ordinary writes and a flush per batch.
type writerSink struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *writerSink) start(hdr []byte) error {
	s.w.WriteHeader(http.StatusOK)
	return s.write1(hdr)
}

func (s *writerSink) write1(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *writerSink) write(tags []*tag) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	for _, t := range tags {
		if _, err := s.w.Write(t.flv()); err != nil {
			return err
		}
	}
	return s.rc.Flush()
}

// finish returns: the server ends the response (chunk terminator) when the
// handler returns.
func (s *writerSink) finish(bool) {}

func (s *writerSink) kill() {
	// Makes a blocked Write fail at once.
	_ = s.rc.SetWriteDeadline(time.Now())
}

// deadline keeps a connection's write deadline between stall-1s and stall
// ahead, re-arming it at most once a second instead of on every write
// (re-arming costs a runtime timer update per batch per viewer).
type deadline struct {
	stall time.Duration
	set   time.Time
}

func (d *deadline) extend(c net.Conn) error {
	now := time.Now()
	if now.Sub(d.set) < time.Second && d.stall > 2*time.Second {
		return nil
	}
	d.set = now
	return c.SetWriteDeadline(now.Add(d.stall))
}

package flv

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsSink writes WS-FLV: the FLV header as the first binary message, then one
// message per tag. The frames are written raw on the upgraded connection
// from the prebuilt frame bytes in each shared tag (server-to-client frames
// are unmasked, so they are identical for every viewer); gorilla is used for
// the upgrade and for reading the client's control frames. Every write,
// including pongs and the close frame, happens on the viewer's goroutine.
type wsSink struct {
	ws    *websocket.Conn
	conn  net.Conn
	stall time.Duration
	iov   net.Buffers
	v     *viewer
	dl    deadline

	mu        sync.Mutex
	pongs     [][]byte
	peerClose bool
	readDone  chan struct{}
}

func newWSSink(ws *websocket.Conn, stall time.Duration, v *viewer) *wsSink {
	s := &wsSink{ws: ws, conn: ws.NetConn(), stall: stall, v: v, dl: deadline{stall: stall}, readDone: make(chan struct{})}
	ws.SetReadLimit(4096)
	ws.SetPingHandler(func(data string) error {
		s.mu.Lock()
		if len(s.pongs) < 4 {
			s.pongs = append(s.pongs, []byte(data))
		}
		s.mu.Unlock()
		// Answered with the next batch of tags.
		return nil
	})
	ws.SetCloseHandler(func(int, string) error {
		s.mu.Lock()
		s.peerClose = true
		s.mu.Unlock()
		return nil
	})
	go s.readLoop()
	return s
}

// readLoop consumes what the player sends (nothing but control frames is
// expected); when the player goes away the viewer is aborted.
func (s *wsSink) readLoop() {
	defer close(s.readDone)
	for {
		if _, _, err := s.ws.NextReader(); err != nil {
			s.v.abort()
			return
		}
	}
}

func (s *wsSink) start(hdr []byte) error {
	var frame [2]byte
	frame[0], frame[1] = 0x82, byte(len(hdr))
	return s.send([][]byte{frame[:], hdr})
}

func (s *wsSink) write(tags []*tag) error {
	iov := s.iov[:0]
	iov = s.appendPongs(iov)
	for _, t := range tags {
		iov = append(iov, t.ws())
	}
	s.iov = iov[:0]
	err := s.send(iov)
	clear(s.iov[:cap(s.iov)])
	return err
}

func (s *wsSink) appendPongs(iov net.Buffers) net.Buffers {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pongs {
		iov = append(iov, []byte{0x8a, byte(len(p))}, p)
	}
	s.pongs = s.pongs[:0]
	return iov
}

func (s *wsSink) send(iov net.Buffers) error {
	if err := s.dl.extend(s.conn); err != nil {
		return err
	}
	_, err := iov.WriteTo(s.conn)
	return err
}

func (s *wsSink) finish(clean bool) {
	if clean {
		// Normal closure (1000): the player knows the show ended.
		var frame [4]byte
		frame[0], frame[1] = 0x88, 2
		binary.BigEndian.PutUint16(frame[2:], websocket.CloseNormalClosure)
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = s.conn.Write(frame[:])
		// Give the player a moment to answer with its close frame.
		select {
		case <-s.readDone:
		case <-time.After(time.Second):
		}
	}
	_ = s.conn.Close()
	<-s.readDone
}

func (s *wsSink) kill() { _ = s.conn.Close() }

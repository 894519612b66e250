package flv

import (
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/internal/wsframe"
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
	iov   iovec
	v     *viewer
	dl    deadline

	mu sync.Mutex
	// pongs are whole pong frames answering the player's pings.
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
			s.pongs = append(s.pongs, wsframe.AppendFrame(nil, wsframe.OpPong, []byte(data)))
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
	s.iov.reset()
	s.iov.add(wsframe.AppendHeader(nil, wsframe.OpBinary, len(hdr)))
	s.iov.add(hdr)
	return s.send()
}

func (s *wsSink) write(tags []*tag) error {
	s.iov.reset()
	s.addPongs()
	for _, t := range tags {
		s.iov.add(t.ws())
	}
	return s.send()
}

func (s *wsSink) addPongs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pongs {
		s.iov.add(p)
	}
	s.pongs = s.pongs[:0]
}

func (s *wsSink) send() error {
	if err := s.dl.extend(s.conn); err != nil {
		s.iov.reset()
		return err
	}
	return s.iov.writeTo(s.conn)
}

func (s *wsSink) finish(clean bool) {
	if clean {
		// Normal closure (1000): the player knows the show ended.
		s.closeWith(websocket.CloseNormalClosure, "")
		return
	}
	_ = s.conn.Close()
	<-s.readDone
}

// closeWith sends a close frame with code and reason, gives the player a
// moment to answer with its own, and closes the connection.
func (s *wsSink) closeWith(code int, reason string) {
	frame := wsframe.AppendClose(nil, code, reason)
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = s.conn.Write(frame)
	select {
	case <-s.readDone:
	case <-time.After(time.Second):
	}
	_ = s.conn.Close()
	<-s.readDone
}

func (s *wsSink) kill() { _ = s.conn.Close() }

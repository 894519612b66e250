package chat

import (
	"errors"
	"fmt"
	"sync"
)

// Conn is a message-oriented connection carrying the chat protocol, such as
// a WebRTC data channel adapted by the sfu package. Each Send carries one
// JSON frame. The hub calls Send and Close from one goroutine per
// connection; Send may block (the hub's queue absorbs that, and a
// connection that stays behind is closed). Close must be idempotent.
type Conn interface {
	Send(frame []byte) error
	Close() error
}

// Peer is a chat connection attached with Hub.Attach. The adapter feeds it
// incoming frames with Receive and calls Close when the underlying
// connection closes.
type Peer struct {
	c *client
}

// Attach connects conn to the gig's chat. The client still has to join.
// Chat over a data channel does not count as a viewer: the media session
// that owns the channel is counted through TrackViewer. On error (per-IP cap,
// hub closed) the client has been told and conn closed.
func (h *Hub) Attach(gigID, ip string, conn Conn) (*Peer, error) {
	if gigID == "" {
		return nil, ErrNoGig
	}
	t := &connTransport{conn: conn}
	c := newClient(h, gigID, ip, t, false, false)
	if err := h.admit(c); err != nil {
		if errors.Is(err, ErrTooManyConns) {
			_ = conn.Send(encodeError(codeTooManyConns, "too many chat connections from your address", 0))
		} else {
			_ = conn.Send(restartingFrame)
		}
		_ = conn.Close()
		return nil, fmt.Errorf("attach gig %s: %w", gigID, err)
	}
	go c.writeLoop()
	return &Peer{c: c}, nil
}

// Receive handles one incoming frame. Call it from one goroutine at a time
// (a data channel's OnMessage).
func (p *Peer) Receive(frame []byte) {
	if len(frame) > p.c.hub.cfg.MaxFrameBytes {
		p.c.fail(codeTooLarge, "frame larger than the limit", closeTooBig)
		return
	}
	p.c.handle(frame)
}

// Close ends the chat connection; call it when the underlying connection
// closes. Idempotent.
func (p *Peer) Close() {
	p.c.stop(false, closeGoingAway, "")
}

// UserID returns the public id of this connection's participant: random
// per connection, or, once it has joined with a ticket, TicketUserID.
func (p *Peer) UserID() string { return p.c.userID() }

type connTransport struct {
	conn Conn
	once sync.Once
}

func (t *connTransport) write(batches []*batch) error {
	for _, b := range batches {
		for _, f := range b.frames {
			if err := t.conn.Send(f.data); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *connTransport) ping() error           { return nil }
func (t *connTransport) pong([]byte) error     { return nil }
func (t *connTransport) closeWith(int, string) {}
func (t *connTransport) close() error {
	var err error
	t.once.Do(func() { err = t.conn.Close() })
	return err
}

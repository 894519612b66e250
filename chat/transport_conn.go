package chat

import "sync"

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

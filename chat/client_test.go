package chat

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// halfTransport takes half of every direct write and records every
// operation in order.
type halfTransport struct {
	mu  sync.Mutex
	ops []string
}

func (t *halfTransport) log(op string) { t.mu.Lock(); t.ops = append(t.ops, op); t.mu.Unlock() }

func (t *halfTransport) tryWrite(b *batch) (*batch, error) {
	p := b.wsBytes()
	t.log(fmt.Sprintf("direct %d", len(p)/2))
	return wireRest(p[len(p)/2:]), nil
}

func (t *halfTransport) write(bs []*batch) error {
	for _, b := range bs {
		t.log(fmt.Sprintf("write %d", len(b.wsBytes())))
	}
	return nil
}
func (t *halfTransport) ping() error           { t.log("ping"); return nil }
func (t *halfTransport) pong([]byte) error     { t.log("pong"); return nil }
func (t *halfTransport) closeWith(int, string) { t.log("close") }
func (t *halfTransport) close() error          { return nil }

// A direct write the socket took only in part leaves the rest of its frame
// queued; the next bytes on the wire must be that rest, never a ping
// between the two halves of a frame.
func TestPartialDirectWriteIsFinishedBeforeAPing(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval = time.Millisecond
	n := newNode(t, cfg, nil)
	for i := range 50 {
		tr := &halfTransport{}
		c := newClient(n.hub, "g1", fmt.Sprintf("192.0.2.%d", i), tr, true, false)
		if err := n.hub.admit(c); err != nil {
			t.Fatal(err)
		}
		go c.writeLoop()
		time.Sleep(time.Duration(i%5) * 300 * time.Microsecond) // land anywhere in the ping period
		c.send([]byte(strings.Repeat("x", 100)))
		deadline := time.Now().Add(5 * time.Second)
		for !partialThenRest(t, tr) {
			if time.Now().After(deadline) {
				t.Fatal("the frame was not written within 5 s")
			}
			time.Sleep(time.Millisecond)
		}
		c.stop(false, closeNormal, "")
		<-c.done
	}
}

// partialThenRest reports whether the frame is out: whole through the
// queue, or directly in part and then its rest; it fails on anything else
// after a partial write.
func partialThenRest(t *testing.T, tr *halfTransport) bool {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, op := range tr.ops {
		switch {
		case op == "write 102": // went through the queue whole
			return true
		case strings.HasPrefix(op, "direct"):
			if i+1 == len(tr.ops) {
				return false
			}
			if next := tr.ops[i+1]; next != "write 51" {
				t.Fatalf("after a partial direct write came %q, want the rest of the frame (write 51)", next)
			}
			return true
		}
	}
	return false
}

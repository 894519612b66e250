package chat

import (
	"fmt"
	"testing"
)

func TestCountersMessagesRateLimitAndPerIPCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnsPerIP = 2
	n := newNode(t, cfg, nil)
	a := dial(t, n, "g1")
	a.join("Ann")
	if got := n.hub.Counters().Viewers; got != 1 {
		t.Fatalf("viewers = %d, want 1", got)
	}
	for i := range 3 {
		a.say(fmt.Sprint(i))
		a.next("message")
	}
	a.say("too many")
	if e := a.next("error"); e["code"] != codeRateLimited {
		t.Fatalf("4th message: %v", e)
	}
	b := dial(t, n, "g2")
	b.join("Bob")
	c := dial(t, n, "g1")
	if e := c.next("error"); e["code"] != codeTooManyConns {
		t.Fatalf("third connection got %v", e)
	}
	got := n.hub.Counters()
	want := Counters{Local: 3, RateLimited: 1, PerIPRefused: 1, Viewers: 2}
	if got != want {
		t.Fatalf("counters = %+v, want %+v", got, want)
	}
}

// nopTransport accepts every write; the test never runs the writer.
type nopTransport struct{}

func (nopTransport) write([]*batch) error  { return nil }
func (nopTransport) ping() error           { return nil }
func (nopTransport) pong([]byte) error     { return nil }
func (nopTransport) closeWith(int, string) {}
func (nopTransport) close() error          { return nil }

func TestCountersSlowClientEvictedOnce(t *testing.T) {
	cfg := testConfig()
	cfg.SendQueue = 4
	n := newNode(t, cfg, nil)
	c := newClient(n.hub, "g1", "192.0.2.1", nopTransport{}, false, false)
	// Nobody drains the queue: the fifth frame evicts, later ones find the
	// client already stopped and count nothing more.
	for range 10 {
		c.send([]byte(`{}`))
	}
	if got := n.hub.Counters().Evicted; got != 1 {
		t.Fatalf("evicted = %d, want 1", got)
	}
}

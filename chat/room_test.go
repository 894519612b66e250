package chat

import (
	"fmt"
	"testing"
	"time"
)

// A quiet room sends a frame at once; frames that follow within the window
// leave together at its end, in order, still one WebSocket message each.
func TestRoomCoalescesBursts(t *testing.T) {
	// Long enough that "at once" and "at the window's end" cannot be
	// confused on a loaded machine.
	const window = time.Second
	n := newNode(t, testConfig(), nil)
	c := newClient(n.hub, "g1", "192.0.2.1", nopTransport{}, false, false)
	r := newRoom("g1", window)
	r.members.Add(c)
	next := func(within time.Duration) *batch {
		t.Helper()
		select {
		case b := <-c.w.out:
			return b
		case <-time.After(within):
			t.Fatalf("no batch within %s", within)
			return nil
		}
	}
	texts := func(b *batch) (out []string) {
		for _, f := range b.frames {
			out = append(out, string(f.data))
		}
		return out
	}

	r.broadcast(frame{data: []byte("m0")})
	if got := texts(next(window / 2)); fmt.Sprint(got) != "[m0]" {
		t.Fatalf("first batch %v", got)
	}
	for i := 1; i < 10; i++ {
		r.broadcast(frame{data: fmt.Appendf(nil, "m%d", i)})
	}
	time.Sleep(window / 4)
	if len(c.w.out) != 0 {
		t.Fatal("a burst inside the window was not held")
	}
	b := next(2 * window)
	if got := fmt.Sprint(texts(b)); got != "[m1 m2 m3 m4 m5 m6 m7 m8 m9]" {
		t.Fatalf("burst batch %v", got)
	}
	// On the wire: nine text frames back to back, each "mN".
	wire := b.wsBytes()
	for i := 1; i < 10; i++ {
		want := fmt.Sprintf("\x81\x02m%d", i)
		if len(wire) < 4 || string(wire[:4]) != want {
			t.Fatalf("frame %d on the wire: %q, want %q", i, wire[:min(4, len(wire))], want)
		}
		wire = wire[4:]
	}
	if len(wire) != 0 {
		t.Fatalf("%d trailing bytes", len(wire))
	}

	time.Sleep(window + window/10) // quiet again
	r.broadcast(frame{data: []byte("m10")})
	if got := texts(next(window / 2)); fmt.Sprint(got) != "[m10]" {
		t.Fatalf("frame after a quiet window: %v, want [m10] at once", got)
	}
}

// A client that joins while frames wait for the window still gets those
// that are not in its history.
func TestBatchWithoutHistory(t *testing.T) {
	b := &batch{frames: []frame{{id: "a", data: []byte("1")}, {data: []byte("sys")}, {id: "b", data: []byte("2")}}}
	if got := b.without(map[string]bool{"x": true}); got != b {
		t.Fatal("batch with nothing seen was copied")
	}
	got := b.without(map[string]bool{"a": true})
	if len(got.frames) != 2 || string(got.frames[0].data) != "sys" || string(got.frames[1].data) != "2" {
		t.Fatalf("without a: %v", got.frames)
	}
	only := &batch{frames: []frame{{id: "a", data: []byte("1")}}}
	if only.without(map[string]bool{"a": true}) != nil {
		t.Fatal("fully seen batch not dropped")
	}
}

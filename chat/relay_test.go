package chat

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
)

// flakyBroker is a MemoryBroker whose writes fail while down is set.
type flakyBroker struct {
	*MemoryBroker
	down     atomic.Bool
	failPubs atomic.Int32 // Publish calls still to fail
}

var errDown = errors.New("broker down")

func (b *flakyBroker) AppendHistory(ctx context.Context, gig string, m Message, limit int) error {
	if b.down.Load() {
		return errDown
	}
	return b.MemoryBroker.AppendHistory(ctx, gig, m, limit)
}

func (b *flakyBroker) Publish(ctx context.Context, gig string, msg []byte) error {
	if b.down.Load() || b.failPubs.Add(-1) >= 0 {
		return errDown
	}
	return b.MemoryBroker.Publish(ctx, gig, msg)
}

func (b *flakyBroker) Restrict(ctx context.Context, gig string, r Restriction) error {
	if b.down.Load() {
		return errDown
	}
	return b.MemoryBroker.Restrict(ctx, gig, r)
}

// TestRelayRetriesInOrder: writes that fail are retried in order, and a
// retry does not redo a step that succeeded (a message whose publish
// failed is in history once).
func TestRelayRetriesInOrder(t *testing.T) {
	b := &flakyBroker{MemoryBroker: NewMemoryBroker()}
	cfg := testConfig()
	cfg.RateBurst = 100
	n := newNode(t, cfg, b)
	c := dial(t, n, "g1")
	c.join("Ann")
	b.failPubs.Store(2)
	c.say("publish fails twice")
	b.down.Store(true)
	for i := range 5 {
		c.say(fmt.Sprintf("down %d", i))
	}
	time.Sleep(300 * time.Millisecond)
	b.down.Store(false)
	var h []Message
	waitFor(t, 5*time.Second, "history after the outage", func() bool {
		h, _ = b.History(context.Background(), "g1", 100)
		return len(h) >= 6
	})
	want := []string{"publish fails twice", "down 0", "down 1", "down 2", "down 3", "down 4"}
	if len(h) != len(want) {
		t.Fatalf("history has %d messages, want %d", len(h), len(want))
	}
	for i, m := range h {
		if m.Text != want[i] {
			t.Fatalf("history[%d] = %q, want %q", i, m.Text, want[i])
		}
	}
}

// TestModerationNotSavedTellsCreator: a moderation action the broker does
// not take within RelayRetry is reported to the creator's connection, and
// still holds on its node.
func TestModerationNotSavedTellsCreator(t *testing.T) {
	b := &flakyBroker{MemoryBroker: NewMemoryBroker()}
	cfg := guestConfig()
	cfg.RelayRetry = 300 * time.Millisecond
	n := newNode(t, cfg, b)
	mod := dial(t, n, "g1")
	mod.join("Creator", "token", testManage)
	v := dial(t, n, "g1")
	v.join("Vic")
	b.down.Store(true)
	mod.send(map[string]any{"type": "mute", "user": v.user, "seconds": 60})
	e := mod.skipTo("error")
	if e["code"] != codeModerationNotSaved {
		t.Fatalf("creator got %v", e)
	}
	t.Logf("creator told: %v", e["message"])
	v.say("muted here anyway")
	if e := v.skipTo("error"); e["code"] != codeMuted {
		t.Fatalf("mute on its node: %v", e)
	}
	if got := n.hub.Counters().ModerationNotSaved; got != 1 {
		t.Fatalf("ModerationNotSaved = %d", got)
	}
}

// TestClusterRedisOutageHistoryAndModeration: with Redis down for a few
// seconds, messages and moderation are kept and written once it is back:
// the other node enforces a mute made during the outage, and history has
// the messages sent during it, in order.
func TestClusterRedisOutageHistoryAndModeration(t *testing.T) {
	cfg := guestConfig()
	cfg.RateBurst = 1000
	cfg.BrokerTimeout = 300 * time.Millisecond
	// Durable: what Redis acknowledged before it died is there after.
	cl := redisCluster(t, redistest.StartDurable(t), cfg, cfg)
	mod := dial(t, cl.a, "gig")
	mod.join("Creator", "token", testManage)
	w := dial(t, cl.a, "gig")
	w.join("Wes")
	v := dial(t, cl.b, "gig")
	v.join("Vic")
	w.say("before")
	v.skipTo("message")

	cl.redis.Stop()
	for i := range 5 {
		w.say(fmt.Sprintf("outage %d", i))
	}
	mod.send(map[string]any{"type": "mute", "user": v.user, "seconds": 120})
	mod.send(map[string]any{"type": "ban", "user": "u_0123456789ab"})
	time.Sleep(time.Second)
	cl.redis.Restart(t)

	waitFor(t, 15*time.Second, "node B to learn the mute made during the outage", func() bool {
		r := cl.b.hub.roomOf("gig")
		return r != nil && r.mutedFor(v.user, time.Now()) > 0
	})
	v.say("am I muted?")
	if e := v.skipTo("error"); e["code"] != codeMuted {
		t.Fatalf("mute after the outage: %v", e)
	}
	var h []Message
	waitFor(t, 10*time.Second, "history written after the outage", func() bool {
		h, _ = cl.b.hub.broker.History(context.Background(), "gig", 100)
		return len(h) == 6
	})
	for i, m := range h {
		want := "before"
		if i > 0 {
			want = fmt.Sprintf("outage %d", i-1)
		}
		if m.Text != want {
			t.Fatalf("history[%d] = %q, want %q", i, m.Text, want)
		}
	}
	late := dial(t, cl.b, "gig")
	if got := texts(late.join("Late")); len(got) != 6 {
		t.Fatalf("late joiner's history %v", got)
	}
	// Stored, so a room opened later anywhere enforces it.
	rs, err := cl.b.hub.broker.Restrictions(context.Background(), "gig")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[RestrictionKind]bool{}
	for _, x := range rs {
		kinds[x.Kind] = true
	}
	if !kinds[RestrictMute] || !kinds[RestrictBan] {
		t.Fatalf("stored after the outage: %+v", rs)
	}
	mod.quiet("error", 200*time.Millisecond)
}

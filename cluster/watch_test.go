package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestWatchOrigins: every change of a gig's owner reaches the watchers;
// renewals do not; WatchOrigins returns when its context ends.
func TestWatchOrigins(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	a, b := newNode(rdb, "a", Config{}), newNode(rdb, "b", Config{})

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.WatchOrigins(wctx, func(gigID string) { got <- gigID })
	}()
	waitSubscribed(t, rdb)
	expect := func(what, gigID string) {
		t.Helper()
		select {
		case g := <-got:
			if g != gigID {
				t.Fatalf("%s: event for %q, want %q", what, g, gigID)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event", what)
		}
	}
	mustDo(t, a.ClaimOrigin(ctx, "g1"))
	expect("claim", "g1")
	mustDo(t, a.ClaimOrigin(ctx, "g1"))
	mustDo(t, a.RenewOrigins(ctx, []string{"g1"}))
	mustDo(t, b.ClaimOrigin(ctx, "g1"))
	expect("takeover", "g1") // and not before: the re-claim and renewal said nothing
	mustDo(t, a.ReleaseOrigin(ctx, "g1"))
	mustDo(t, b.ReleaseOrigin(ctx, "g1"))
	expect("release", "g1") // a's release changed nothing and said nothing
	select {
	case g := <-got:
		t.Fatalf("unexpected event for %q", g)
	case <-time.After(200 * time.Millisecond):
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchOrigins did not return after its context ended")
	}
}

// TestWatchOriginsOutage: announcements made while the subscription was
// down are lost, so after reconnecting the watcher hears of every gig
// that has an origin.
func TestWatchOriginsOutage(t *testing.T) {
	ctx := testCtx(t)
	srv := redistest.StartDurable(t)
	rdb := clientOf(t, srv)
	a := newNode(rdb, "a", Config{})
	mustDo(t, a.ClaimOrigin(ctx, "g1"))

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.WatchOrigins(wctx, func(gigID string) { got <- gigID })
	}()
	waitSubscribed(t, rdb)
	select {
	case g := <-got:
		t.Fatalf("event for %q before any change", g)
	case <-time.After(100 * time.Millisecond):
	}
	srv.Stop()
	time.Sleep(300 * time.Millisecond)
	srv.Restart(t)
	select {
	case g := <-got:
		if g != "g1" {
			t.Fatalf("resync event for %q, want g1", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resync after the subscription came back")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchOrigins did not return after its context ended")
	}
}

func waitSubscribed(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for rdb.PubSubNumSub(context.Background(), channelEvents).Val()[channelEvents] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("WatchOrigins never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

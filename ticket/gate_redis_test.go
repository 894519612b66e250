package ticket

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// node is one simulated server: its own Redis pools, bus and gate.
type node struct {
	store *RedisStore
	bus   *RedisBus
	gate  *Gate
}

func newNode(t testing.TB, url string, gigs GigLookup, name string) *node {
	t.Helper()
	s := newRedisStore(t, url)
	b := newRedisBus(t, s.Client())
	return &node{store: s, bus: b, gate: newTestGate(t, gigs, s, b, name)}
}

func (n *node) close() {
	n.gate.Close()
	_ = n.bus.Close()
	_ = n.store.Close()
}

func newCluster(t testing.TB, srv *redistest.Server) (*node, *node, *fakeGigs) {
	t.Helper()
	gigs := newFakeGigs()
	return newNode(t, srv.URL(), gigs, "a"), newNode(t, srv.URL(), gigs, "b"), gigs
}

// TestClusterOneScreen: the same ticket admitted on node B ends its media
// on node A within 2 s; chat is not limited.
func TestClusterOneScreen(t *testing.T) {
	srv := redistest.Start(t)
	a, b, _ := newCluster(t, srv)
	ctx := context.Background()
	tk, tok := mustIssue(t, a.store, freeIssue(gigA, 0))

	phone := admit(t, a.gate, gigA, tok, access.Media, "phone")
	chat := admit(t, a.gate, gigA, tok, access.Chat, "phone")
	time.Sleep(50 * time.Millisecond) // phone's own event comes back
	tv := admit(t, b.gate, gigA, tok, access.Media, "tv")
	waitEnded(t, phone, access.ErrWatchingElsewhere, 2*time.Second)
	time.Sleep(300 * time.Millisecond)
	wantAlive(t, tv, "the newest screen")
	wantAlive(t, chat, "chat")
	for _, n := range []*node{a, b} {
		if sc, err := n.gate.CurrentScreen(ctx, gigA, tk.ID); err != nil || sc != "tv" {
			t.Fatalf("node %s: current screen %q %v", n.gate.node, sc, err)
		}
	}
	// And back.
	phone2 := admit(t, a.gate, gigA, tok, access.Media, "phone")
	waitEnded(t, tv, access.ErrWatchingElsewhere, 2*time.Second)
	time.Sleep(200 * time.Millisecond)
	wantAlive(t, phone2, "the newest screen")
	if sc, _ := b.gate.CurrentScreen(ctx, gigA, tk.ID); sc != "phone" {
		t.Fatalf("current screen %q", sc)
	}
}

// TestClusterSimultaneousScreens: admissions of one ticket on both nodes
// at the same instant leave exactly one screen playing, the one
// CurrentScreen names.
func TestClusterSimultaneousScreens(t *testing.T) {
	srv := redistest.Start(t)
	a, b, _ := newCluster(t, srv)
	ctx := context.Background()
	for round := range 15 {
		tk, tok := mustIssue(t, a.store, freeIssue(gigA, 0))
		var passes [4]*access.Pass
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range passes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				g := a.gate
				if i%2 == 1 {
					g = b.gate
				}
				p, err := g.Admit(ctx, access.Request{GigID: gigA, Credential: tok, Kind: access.Media, Screen: fmt.Sprint("s", i)})
				if err != nil {
					t.Errorf("admit: %v", err)
					return
				}
				passes[i] = p
			}()
		}
		close(start)
		wg.Wait()
		deadline := time.Now().Add(2 * time.Second)
		var alive []*access.Pass
		for {
			alive = alive[:0]
			for _, p := range passes {
				if p != nil && p.Err() == nil {
					alive = append(alive, p)
				}
			}
			if len(alive) <= 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(alive) != 1 {
			t.Fatalf("round %d: %d screens playing after 2 s, want 1", round, len(alive))
		}
		time.Sleep(100 * time.Millisecond) // nothing late ends the winner
		if err := alive[0].Err(); err != nil {
			t.Fatalf("round %d: the last screen ended too: %v", round, err)
		}
		if sc, _ := a.gate.CurrentScreen(ctx, gigA, tk.ID); sc != alive[0].Screen {
			t.Fatalf("round %d: current screen %q, playing %q", round, sc, alive[0].Screen)
		}
		for _, p := range passes {
			p.Release()
		}
	}
}

// TestClusterRevoke: revoking on node B ends node A's media and chat within
// 2 s, and the ticket cannot come back; creators and open gigs never end.
func TestClusterRevoke(t *testing.T) {
	srv := redistest.Start(t)
	a, b, gigs := newCluster(t, srv)
	ctx := context.Background()
	const openGig = "oooooooooooooooo"
	gigs.ticketed[openGig] = false
	tk, tok := mustIssue(t, a.store, freeIssue(gigA, 0))
	_, tok2 := mustIssue(t, a.store, freeIssue(gigA, 0))

	media := admit(t, a.gate, gigA, tok, access.Media, "")
	chat := admit(t, a.gate, gigA, tok, access.Chat, "")
	chatB := admit(t, b.gate, gigA, tok, access.Chat, "")
	other := admit(t, a.gate, gigA, tok2, access.Media, "")
	creator := admit(t, a.gate, gigA, "mt_manageA", access.Media, "")
	open := admit(t, a.gate, openGig, "", access.Media, "")

	start := time.Now()
	if _, err := b.gate.Revoke(ctx, gigA, tk.ID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, chatB, access.ErrTicketRevoked, 0) // locally at once
	waitEnded(t, media, access.ErrTicketRevoked, 2*time.Second)
	waitEnded(t, chat, access.ErrTicketRevoked, 2*time.Second)
	t.Logf("remote sessions ended %v after revoke", time.Since(start))
	for _, k := range []access.Kind{access.Media, access.Chat} {
		for _, n := range []*node{a, b} {
			if _, err := n.gate.Admit(ctx, access.Request{GigID: gigA, Credential: tok, Kind: k}); !errors.Is(err, access.ErrTicketRevoked) {
				t.Fatalf("re-admission on %s: %v", n.gate.node, err)
			}
		}
	}
	// Creator passes and open gigs are never limited, by screens either.
	admit(t, b.gate, gigA, "mt_manageA", access.Media, "")
	time.Sleep(300 * time.Millisecond)
	wantAlive(t, other, "another ticket")
	wantAlive(t, creator, "creator")
	wantAlive(t, open, "open gig")
}

// TestClusterBusSurvivesOutage: after Redis restarts, the buses resubscribe
// by themselves and revocations reach every node again.
func TestClusterBusSurvivesOutage(t *testing.T) {
	srv := redistest.StartDurable(t)
	a, b, _ := newCluster(t, srv)
	ctx := context.Background()
	tk, tok := mustIssue(t, a.store, freeIssue(gigA, 0))
	chat := admit(t, a.gate, gigA, tok, access.Chat, "")

	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.gate.Revoke(ctx, gigA, tk.ID, StatusRevoked)
		if err == nil || errors.Is(err, ErrConflict) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoke after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Either the event reached A (its subscription is back) or A missed it
	// while reconnecting and its resync found the ticket revoked.
	waitEnded(t, chat, access.ErrTicketRevoked, 5*time.Second)

	// And screen events flow again.
	_, tok2 := mustIssue(t, a.store, freeIssue(gigA, 0))
	pa := admit(t, a.gate, gigA, tok2, access.Media, "x")
	time.Sleep(50 * time.Millisecond)
	admit(t, b.gate, gigA, tok2, access.Media, "y")
	waitEnded(t, pa, access.ErrWatchingElsewhere, 2*time.Second)
}

// TestClusterResyncAfterLostEvents: a subscriber killed by Redis misses
// events; when it is back its gate re-checks its tickets.
func TestClusterResyncAfterLostEvents(t *testing.T) {
	srv := redistest.Start(t)
	a, b, _ := newCluster(t, srv)
	admin := adminClient(t, srv.Addr)
	ctx := context.Background()
	tk, tok := mustIssue(t, a.store, freeIssue(gigA, 0))
	chat := admit(t, a.gate, gigA, tok, access.Chat, "")
	// Revoke in the store only (the event is "lost"), then drop every
	// subscriber connection: on reconnect, A resyncs.
	if _, err := b.store.End(ctx, gigA, tk.ID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, chat, access.ErrTicketRevoked, 8*time.Second)
}

// TestClusterAdmitWithRedisDown: admission fails as a failure (503), not a
// refusal, while Redis is down.
func TestClusterAdmitWithRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	a, _, _ := newCluster(t, srv)
	_, tok := mustIssue(t, a.store, freeIssue(gigA, 0))
	srv.Stop()
	_, err := a.gate.Admit(context.Background(), access.Request{GigID: gigA, Credential: tok, Kind: access.Media})
	if err == nil || access.Denied(err) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("admit with Redis down: %v", err)
	}
}

// TestGateCloseLeaksNothing: gates, buses and stores of two nodes leave no
// goroutine behind once closed.
func TestGateCloseLeaksNothing(t *testing.T) {
	srv := redistest.Start(t)
	before := runtime.NumGoroutine()
	func() {
		gigs := newFakeGigs()
		a := newNode(t, srv.URL(), gigs, "a")
		b := newNode(t, srv.URL(), gigs, "b")
		_, tok := mustIssue(t, a.store, freeIssue(gigA, 0))
		p := admit(t, a.gate, gigA, tok, access.Media, "")
		admit(t, b.gate, gigA, tok, access.Media, "")
		waitEnded(t, p, access.ErrWatchingElsewhere, 2*time.Second)
		a.close()
		b.close()
		a.close() // idempotent
		b.gate.Close()
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

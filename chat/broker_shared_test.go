package chat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// brokerPair returns two brokers that see the same state, as two nodes would.
type brokerPair func(t *testing.T) (a, b Broker)

func memoryPair(t *testing.T) (Broker, Broker) {
	m := NewMemoryBroker()
	t.Cleanup(func() { _ = m.Close() })
	return m, m
}

// redisPair starts one redis-server per test and two brokers on separate clients.
func redisPair(t *testing.T) (Broker, Broker) {
	srv := redistest.Start(t)
	return newRedisBroker(t, srv.Addr), newRedisBroker(t, srv.Addr)
}

func newRedisBroker(t testing.TB, addr string) *RedisBroker {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond, MaxRetries: 1})
	b, err := NewRedisBroker(RedisBrokerConfig{Client: rdb}, testLogger(t))
	if err != nil {
		t.Fatalf("NewRedisBroker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(); _ = rdb.Close() })
	return b
}

func TestMemoryBroker(t *testing.T) { runBrokerSuite(t, memoryPair) }
func TestRedisBroker(t *testing.T)  { runBrokerSuite(t, redisPair) }

// runBrokerSuite is the contract every Broker implementation passes.
func runBrokerSuite(t *testing.T, pair brokerPair) {
	ctx := context.Background()
	gig := func(t *testing.T) string { return strings.ReplaceAll(t.Name(), "/", "_") }

	t.Run("publish reaches every node in order", func(t *testing.T) {
		a, b := pair(t)
		g := gig(t)
		var mu sync.Mutex
		got := map[string][]string{}
		done := make(chan struct{}, 2)
		const n = 50
		for name, br := range map[string]Broker{"a": a, "b": b} {
			unsub, err := br.Subscribe(ctx, g, func(msg []byte) {
				mu.Lock()
				got[name] = append(got[name], string(msg))
				if len(got[name]) == n {
					done <- struct{}{}
				}
				mu.Unlock()
			})
			if err != nil {
				t.Fatalf("subscribe %s: %v", name, err)
			}
			t.Cleanup(unsub)
		}
		for i := range n {
			if err := a.Publish(ctx, g, []byte(fmt.Sprint(i))); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
		for range 2 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("not every subscriber got %d messages: %v", n, got)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for name, msgs := range got {
			for i, m := range msgs {
				if m != fmt.Sprint(i) {
					t.Fatalf("subscriber %s got %q at %d: out of order", name, m, i)
				}
			}
		}
	})

	t.Run("unsubscribe stops delivery and other gigs stay apart", func(t *testing.T) {
		a, b := pair(t)
		g := gig(t)
		gotA, gotOther := make(chan string, 10), make(chan string, 10)
		unsub, err := a.Subscribe(ctx, g, func(m []byte) { gotA <- string(m) })
		if err != nil {
			t.Fatal(err)
		}
		unsubOther, err := a.Subscribe(ctx, g+"-other", func(m []byte) { gotOther <- string(m) })
		if err != nil {
			t.Fatal(err)
		}
		defer unsubOther()
		_ = b.Publish(ctx, g, []byte("one"))
		if m := recvString(t, gotA); m != "one" {
			t.Fatalf("got %q", m)
		}
		unsub()
		unsub() // idempotent
		_ = b.Publish(ctx, g, []byte("two"))
		_ = b.Publish(ctx, g+"-other", []byte("three"))
		if m := recvString(t, gotOther); m != "three" {
			t.Fatalf("other gig got %q", m)
		}
		select {
		case m := <-gotA:
			t.Fatalf("unsubscribed handler got %q", m)
		default:
		}
		if len(gotOther) != 0 {
			t.Fatalf("other gig got a message of %s", g)
		}
	})

	t.Run("history is capped, ordered and deletable", func(t *testing.T) {
		a, b := pair(t)
		g := gig(t)
		for i := range 7 {
			m := Message{Type: "message", ID: fmt.Sprintf("m%d", i), User: "u_1", Name: "Ann", Text: fmt.Sprint(i), TS: int64(i)}
			if err := a.AppendHistory(ctx, g, m, 5); err != nil {
				t.Fatal(err)
			}
		}
		h, err := b.History(ctx, g, 5)
		if err != nil {
			t.Fatal(err)
		}
		if ids := messageIDs(h); ids != "m2 m3 m4 m5 m6" {
			t.Fatalf("history = %s, want m2..m6", ids)
		}
		if h, _ := b.History(ctx, g, 2); messageIDs(h) != "m5 m6" {
			t.Fatalf("history(2) = %s", messageIDs(h))
		}
		if err := b.DeleteHistory(ctx, g, "m4"); err != nil {
			t.Fatal(err)
		}
		if err := b.DeleteHistory(ctx, g, "missing"); err != nil {
			t.Fatal(err)
		}
		h, _ = a.History(ctx, g, 5)
		if ids := messageIDs(h); ids != "m2 m3 m5 m6" {
			t.Fatalf("after delete = %s", ids)
		}
		if h[0].Text != "2" || h[0].Name != "Ann" {
			t.Fatalf("message fields lost: %+v", h[0])
		}
		if h, _ := a.History(ctx, g+"-empty", 5); len(h) != 0 {
			t.Fatalf("empty gig has history %v", h)
		}
	})

	t.Run("presence sums nodes and expires", func(t *testing.T) {
		a, b := pair(t)
		g := gig(t)
		if err := a.Heartbeat(ctx, g, "n1", 3, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.Heartbeat(ctx, g, "n2", 4, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		p, err := a.Presence(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if p["n1"] != 3 || p["n2"] != 4 {
			t.Fatalf("presence = %v", p)
		}
		time.Sleep(400 * time.Millisecond)
		p, _ = b.Presence(ctx, g)
		if p["n1"] != 3 || len(p) != 1 {
			t.Fatalf("after n2 expired presence = %v", p)
		}
		_ = a.Heartbeat(ctx, g, "n1", 0, time.Minute)
		if p, _ := b.Presence(ctx, g); len(p) != 0 {
			t.Fatalf("zero heartbeat left %v", p)
		}
	})

	t.Run("restrictions replace, expire and remove", func(t *testing.T) {
		a, b := pair(t)
		g := gig(t)
		now := time.Now()
		for _, r := range []Restriction{
			{Kind: RestrictMute, Target: "u_1", Until: now.Add(time.Hour)},
			{Kind: RestrictMute, Target: "u_2", Until: now.Add(200 * time.Millisecond)},
			{Kind: RestrictBan, Target: "u_3"},
			{Kind: RestrictSlow, Seconds: 5},
			{Kind: RestrictSlow, Seconds: 10},
		} {
			if err := a.Restrict(ctx, g, r); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := b.Restrictions(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if got := describe(rs); got != "ban:u_3 mute:u_1 mute:u_2 slow:10" {
			t.Fatalf("restrictions = %s", got)
		}
		time.Sleep(300 * time.Millisecond)
		_ = a.Restrict(ctx, g, Restriction{Kind: RestrictSlow, Seconds: 0})
		_ = a.Restrict(ctx, g, Restriction{Kind: RestrictMute, Target: "u_1", Until: time.Now()})
		rs, _ = b.Restrictions(ctx, g)
		if got := describe(rs); got != "ban:u_3" {
			t.Fatalf("after expiry and removal = %s", got)
		}
	})
}

func recvString(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return ""
	}
}

func messageIDs(ms []Message) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return strings.Join(ids, " ")
}

func describe(rs []Restriction) string {
	var out []string
	for _, r := range rs {
		s := string(r.Kind) + ":" + r.Target
		if r.Kind == RestrictSlow {
			s = fmt.Sprintf("slow:%d", r.Seconds)
		}
		out = append(out, s)
	}
	sortStrings(out)
	return strings.Join(out, " ")
}

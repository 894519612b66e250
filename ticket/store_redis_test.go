package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func adminClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newRedisStore(t testing.TB, url string) *RedisStore {
	t.Helper()
	return newRedisStoreWith(t, RedisConfig{URL: url})
}

// newBurstStore is for the contract, which fires 250 concurrent calls per
// node: on a shared 2-core machine under -race, redis-server sometimes takes
// longer than the production half second to accept the pool's connections,
// and what the contract checks is the seat count, not latency.
func newBurstStore(t testing.TB, url string) *RedisStore {
	return newRedisStoreWith(t, RedisConfig{URL: url, DialTimeout: 3 * time.Second, IOTimeout: 3 * time.Second, OpTimeout: 10 * time.Second})
}

func newRedisStoreWith(t testing.TB, cfg RedisConfig) *RedisStore {
	t.Helper()
	s, err := NewRedisStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("new redis store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisContract(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	runContract(t, func(t *testing.T) (Store, Store) {
		if err := admin.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { checkRedisConsistent(t, admin) })
		// Two pools on one Redis: two nodes.
		return newBurstStore(t, srv.URL()), newBurstStore(t, srv.URL())
	})
}

// checkRedisConsistent verifies the invariants every script keeps: the
// sold counter equals the valid states, every ticket has a state and a
// token lookup pointing back at it, and no key holds a token.
func checkRedisConsistent(t *testing.T, admin *redis.Client) {
	t.Helper()
	ctx := context.Background()
	keys, err := admin.Keys(ctx, "bmg:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, keyTicketsSuffix) {
			continue
		}
		gig := strings.TrimSuffix(strings.TrimPrefix(k, keyGigPrefix), keyTicketsSuffix)
		recs := admin.HGetAll(ctx, k).Val()
		states := admin.HGetAll(ctx, stateKey(gig)).Val()
		valid := 0
		for id, st := range states {
			if _, ok := recs[id]; !ok {
				t.Errorf("state without ticket %s", id)
			}
			if st == stateValid {
				valid++
			}
		}
		sold, _ := admin.HGet(ctx, countsKey(gig), "sold").Int()
		if sold != valid {
			t.Errorf("gig %s: sold counter %d, valid tickets %d", gig, sold, valid)
		}
		if want := revenueOf(t, recs, states); len(recs) > 0 {
			rev, err := admin.HGet(ctx, countsKey(gig), "revenue").Int64()
			if err != nil || rev != want {
				t.Errorf("gig %s: revenue counter %d (%v), valid paid tickets sum to %d", gig, rev, err, want)
			}
		}
		for id := range recs {
			if _, ok := states[id]; !ok {
				t.Errorf("ticket %s without state", id)
			}
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, keyTokenPrefix) {
			v := admin.Get(ctx, k).Val()
			if strings.Contains(v, TokenPrefix) {
				t.Errorf("token stored in %s", k)
			}
		}
	}
}

// revenueOf sums the valid paid tickets of a gig's raw hashes, the rule
// the revenue counter keeps.
func revenueOf(t *testing.T, recs, states map[string]string) int64 {
	t.Helper()
	var sum int64
	for id, raw := range recs {
		var r record
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatalf("record %s: %v", id, err)
		}
		if states[id] == stateValid && r.Kind == KindPaid {
			sum += r.PaidMinor
		}
	}
	return sum
}

// TestRedisCountsMigratesRevenue: data written before the revenue counter
// existed (a counts hash with "sold" only) gets its revenue computed once
// from the tickets, by whichever comes first: a read or a write; after
// that Counts reads the counters only.
func TestRedisCountsMigratesRevenue(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	s := newRedisStore(t, srv.URL())
	ctx := context.Background()
	setup := func(t *testing.T) (paid, comp Ticket) {
		t.Helper()
		if err := admin.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { checkRedisConsistent(t, admin) })
		mustIssue(t, s, freeIssue(gigA, 0))
		comp, _ = mustIssue(t, s, Issue{GigID: gigA, Holder: ada(), Kind: KindComp, PaidMinor: 700, Currency: "USD"})
		b, _, _ := s.Reserve(ctx, gigA, ada(), 2500, "USD")
		paid, _, err := s.Confirm(ctx, gigA, b.ID, 0, "pi")
		if err != nil {
			t.Fatal(err)
		}
		ended, _ := mustIssue(t, s, Issue{GigID: gigA, Holder: ada(), Kind: KindPaid, PaidMinor: 400, Currency: "USD"})
		if _, err := s.End(ctx, gigA, ended.ID, StatusRefunded); err != nil {
			t.Fatal(err)
		}
		// Back to the old layout.
		if err := admin.HDel(ctx, countsKey(gigA), "revenue").Err(); err != nil {
			t.Fatal(err)
		}
		return paid, comp
	}
	want := func(t *testing.T, c Counts) {
		t.Helper()
		if got, err := s.Counts(ctx, gigA); err != nil || got != c {
			t.Fatalf("counts %+v %v, want %+v", got, err, c)
		}
	}
	t.Run("read", func(t *testing.T) {
		setup(t)
		want(t, Counts{Sold: 3, RevenueMinor: 2500})
		if v := admin.HGet(ctx, countsKey(gigA), "revenue").Val(); v != "2500" {
			t.Fatalf("revenue not stored by the read: %q", v)
		}
		// Once migrated, Counts reads two fields and never scans tickets.
		if err := admin.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			want(t, Counts{Sold: 3, RevenueMinor: 2500})
		}
		stats := admin.Info(ctx, "commandstats").Val()
		for _, scan := range []string{"cmdstat_hgetall", "cmdstat_hvals", "cmdstat_hscan", "cmdstat_hkeys"} {
			if strings.Contains(stats, scan+":") {
				t.Fatalf("Counts scanned the tickets (%s):\n%s", scan, stats)
			}
		}
	})
	t.Run("end", func(t *testing.T) {
		paid, _ := setup(t)
		if _, err := s.End(ctx, gigA, paid.ID, StatusRefunded); err != nil {
			t.Fatal(err)
		}
		want(t, Counts{Sold: 2})
	})
	t.Run("issue", func(t *testing.T) {
		setup(t)
		mustIssue(t, s, Issue{GigID: gigA, Holder: ada(), Kind: KindPaid, PaidMinor: 100, Currency: "USD"})
		want(t, Counts{Sold: 4, RevenueMinor: 2600})
	})
	t.Run("confirm", func(t *testing.T) {
		setup(t)
		b, _, _ := s.Reserve(ctx, gigA, ada(), 300, "USD")
		if _, _, err := s.Confirm(ctx, gigA, b.ID, 0, "pi_2"); err != nil {
			t.Fatal(err)
		}
		want(t, Counts{Sold: 4, RevenueMinor: 2800})
	})
	t.Run("no tickets, no keys", func(t *testing.T) {
		if err := admin.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Reserve(ctx, gigB, ada(), 300, "USD"); err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{gigA, gigB} {
			if c, err := s.Counts(ctx, g); err != nil || c != (Counts{}) {
				t.Fatalf("counts of %s: %+v %v", g, c, err)
			}
			if n := admin.Exists(ctx, countsKey(g)).Val(); n != 0 {
				t.Fatalf("Counts created %s", countsKey(g))
			}
		}
	})
}

func TestRedisDeleteGigLeavesNoKeys(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	s := newRedisStore(t, srv.URL())
	ctx := context.Background()
	mustIssue(t, s, freeIssue(gigA, 5))
	b, _, _ := s.Reserve(ctx, gigA, ada(), 100, "USD")
	_, _, _ = s.Reserve(ctx, gigA, ada(), 100, "USD")
	if _, _, err := s.Confirm(ctx, gigA, b.ID, 5, "pi"); err != nil {
		t.Fatal(err)
	}
	bus := newRedisBus(t, s.Client())
	if err := bus.Publish(ctx, Event{Type: EventScreen, GigID: gigA, TicketID: b.ID, Screen: "s1"}); err != nil {
		t.Fatal(err)
	}
	_, tokB := mustIssue(t, s, freeIssue(gigB, 0))
	if err := s.DeleteGig(ctx, gigA); err != nil {
		t.Fatal(err)
	}
	keys := admin.Keys(ctx, "bmg:*").Val()
	for _, k := range keys {
		if strings.Contains(k, gigA) {
			t.Errorf("key %s left after DeleteGig", k)
		}
	}
	// Gig B: its three hashes and one token key.
	if len(keys) != 4 {
		t.Errorf("keys left: %v", keys)
	}
	if _, err := s.Authenticate(ctx, gigB, tokB); err != nil {
		t.Fatal(err)
	}
	if sc, _ := bus.CurrentScreen(ctx, gigA, b.ID); sc != "" {
		t.Fatalf("screen survived DeleteGig: %q", sc)
	}
}

// TestRedisOutage: a dead Redis is ErrUnavailable within a second, and the
// store serves again once Redis is back.
func TestRedisOutage(t *testing.T) {
	srv := redistest.StartDurable(t)
	s := newRedisStore(t, srv.URL())
	ctx := context.Background()
	_, tok := mustIssue(t, s, freeIssue(gigA, 0))
	srv.Stop()
	start := time.Now()
	_, _, err := s.Issue(ctx, freeIssue(gigA, 0))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("issue with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := s.Authenticate(ctx, gigA, tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("authenticate with Redis down: %v", err)
	}
	if _, err := s.List(ctx, gigA); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("list with Redis down: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("three calls took %v with Redis down", d)
	}
	srv.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Authenticate(ctx, gigA, tok)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := NewRedisStore(ctx, RedisConfig{URL: "redis://127.0.0.1:1/0"}, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unreachable Redis at start: %v", err)
	}
}

func newRedisBus(t testing.TB, c redis.UniversalClient) *RedisBus {
	t.Helper()
	b, err := NewRedisBus(context.Background(), RedisBusConfig{Client: c}, nil)
	if err != nil {
		t.Fatalf("new redis bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

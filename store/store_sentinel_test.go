package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
)

// TestRedisSentinelContract runs the store contract through Sentinel, with
// every write waiting for the replica.
func TestRedisSentinelContract(t *testing.T) {
	sen := redistest.StartSentinel(t)
	admin := adminClient(t, sen.Master.Addr)
	runContract(t, func(t *testing.T, o storeOptions) Store {
		if err := admin.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		s := newRedisStoreWith(t, RedisConfig{URL: sen.URL(), Now: o.now, EndedRetention: o.retention}, nil)
		t.Cleanup(func() { checkConsistentWith(t, admin, o.retention >= 0) })
		return s
	})
}

// TestRedisSentinelFailover: a gig write is acknowledged only once the
// replica holds it, so every acknowledged gig survives a kill -9 of the
// master; while the new master has no replica, writes are refused
// (ErrUnavailable) rather than acknowledged without a copy; they succeed
// again once the old master is back as a replica.
func TestRedisSentinelFailover(t *testing.T) {
	ctx := context.Background()
	sen := redistest.StartSentinel(t)
	now := time.Now().Add(time.Hour)
	s := newRedisStoreWith(t, RedisConfig{URL: sen.URL(), Now: func() time.Time { return now.Add(-time.Hour) }}, nil)
	var acked []string
	for i := 0; i < 20; i++ {
		g, _, err := s.Create(ctx, inputAt("before", now, CategoryMusic))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		acked = append(acked, g.ID)
	}
	old := sen.KillMaster(t)
	start := time.Now()
	newMaster := sen.WaitFailover(t, old.Addr, 20*time.Second)
	t.Logf("failover to %s took %v", newMaster, time.Since(start).Round(time.Millisecond))
	for _, id := range acked {
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err = s.Get(ctx, id); !errors.Is(err, ErrUnavailable) {
				break
			}
		}
		if err != nil {
			t.Fatalf("acknowledged gig %s after failover: %v", id, err)
		}
	}
	if _, _, err := s.Create(ctx, inputAt("no replica", now, CategoryMusic)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("create with no replica to wait for: err = %v, want ErrUnavailable", err)
	}
	t.Logf("acknowledged gigs checked at %v", time.Since(start).Round(time.Millisecond))
	sen.Rejoin(t, old, newMaster)
	t.Logf("old master a replica again at %v", time.Since(start).Round(time.Millisecond))
	// The sentinels may still be reconfiguring the rejoined replica for a
	// moment: until it acknowledges, writes are refused (never lost), then
	// they are taken again.
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, _, err = s.Create(ctx, inputAt("after", now, CategoryMusic)); err == nil || !errors.Is(err, ErrUnavailable) {
			break
		}
	}
	if err != nil {
		t.Fatalf("create once the old master is a replica again: %v", err)
	}
	t.Logf("writes taken again at %v", time.Since(start).Round(time.Millisecond))
}

// TestRedisWaitReplicas: a gig write the replica has not confirmed is not
// acknowledged. Replication is asynchronous, so without the WAIT a write
// answered just before a failover can be missing on the promoted replica.
func TestRedisWaitReplicas(t *testing.T) {
	ctx := context.Background()
	sen := redistest.StartSentinel(t)
	now := time.Now().Add(time.Hour)
	clock := func() time.Time { return now.Add(-time.Hour) }
	waiting := newRedisStoreWith(t, RedisConfig{URL: sen.URL(), Now: clock}, nil)
	blind := newRedisStoreWith(t, RedisConfig{URL: sen.URL() + "?wait_replicas=0", Now: clock}, nil)
	g, _, err := waiting.Create(ctx, inputAt("replicated", now, CategoryMusic))
	if err != nil {
		t.Fatalf("create with the replica up: %v", err)
	}
	resume := sen.Replica.Freeze(t)
	start := time.Now()
	if _, _, err := waiting.Create(ctx, inputAt("unconfirmed", now, CategoryMusic)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("create with a frozen replica: err = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > DefaultRedisOpTimeout+200*time.Millisecond {
		t.Fatalf("refusing took %v", took)
	}
	renamed := "renamed"
	if _, err := waiting.Update(ctx, g.ID, Patch{Title: &renamed}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("update with a frozen replica: err = %v, want ErrUnavailable", err)
	}
	if _, _, err := blind.Create(ctx, inputAt("blind", now, CategoryMusic)); err != nil {
		t.Fatalf("wait_replicas=0 acknowledges without the replica: %v", err)
	}
	resume()
	if _, _, err := waiting.Create(ctx, inputAt("resumed", now, CategoryMusic)); err != nil {
		t.Fatalf("create once the replica is back: %v", err)
	}
}

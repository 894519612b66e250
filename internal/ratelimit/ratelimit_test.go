package ratelimit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

type limiter interface {
	Allow(ctx context.Context, key string, now time.Time) (bool, time.Duration, error)
}

func TestRule(t *testing.T) {
	rule := Rule{Limit: 3, Window: 400 * time.Millisecond}
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	other := redis.NewClient(&redis.Options{Addr: srv.Addr}) // a second node
	defer other.Close()
	for name, pair := range map[string][2]limiter{
		"memory": {NewMemory(rule), nil},
		"redis":  {NewRedis(rdb, "test", rule, []byte("salt")), NewRedis(other, "test", rule, []byte("salt"))},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b := pair[0], pair[1]
			if b == nil {
				b = a
			}
			start := time.Now()
			for i, l := range []limiter{a, b, a} {
				if ok, _, err := l.Allow(ctx, "203.0.113.1", start); !ok || err != nil {
					t.Fatalf("event %d refused: %v", i+1, err)
				}
			}
			ok, retry, err := b.Allow(ctx, "203.0.113.1", start)
			if ok || err != nil || retry <= 0 || retry > rule.Window {
				t.Fatalf("4th event: ok=%v retry=%v err=%v", ok, retry, err)
			}
			if ok, _, _ := a.Allow(ctx, "203.0.113.2", start); !ok {
				t.Fatal("another key was refused")
			}
			time.Sleep(rule.Window + 50*time.Millisecond)
			if ok, _, _ := a.Allow(ctx, "203.0.113.1", time.Now()); !ok {
				t.Fatal("refused after the window ended")
			}
		})
	}
	// Counters live one window: look at them right after a count.
	if ok, _, _ := NewRedis(rdb, "test", rule, []byte("salt")).Allow(context.Background(), "203.0.113.9", time.Now()); !ok {
		t.Fatal("a fresh address was refused")
	}
	keys, _ := rdb.Keys(context.Background(), "bmg:ratelimit:*").Result()
	for _, k := range keys {
		if strings.Contains(k, "203.0.113") {
			t.Fatalf("a client address is stored in the clear: %s", k)
		}
	}
	if len(keys) == 0 {
		t.Fatal("no counter keys in Redis")
	}
	srv.Stop()
	if ok, _, err := NewRedis(rdb, "test", rule, nil).Allow(context.Background(), "k", time.Now()); !ok || err == nil {
		t.Fatalf("Redis down: ok=%v err=%v, want allowed with ErrUnavailable", ok, err)
	}
}

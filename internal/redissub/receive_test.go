package redissub_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redissub"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// logCount is a slog.Handler that counts records by message, for the
// outage assertions.
type logCount struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCount) WithGroup(string) slog.Handler            { return l }

func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs[r.Message]++
	l.mu.Unlock()
	return nil
}

func (l *logCount) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msgs[msg]
}

// TestReceiveThroughOutage: messages reach handle, an outage is logged once
// when it starts and once when it ends, the subscription comes back by
// itself, and Receive returns when its context ends and ps is closed.
func TestReceiveThroughOutage(t *testing.T) {
	srv := redistest.Start(t)
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps := rdb.Subscribe(ctx, "ch")
	defer ps.Close()

	logs := &logCount{msgs: map[string]int{}}
	log := slog.New(logs)
	subscribed := make(chan struct{}, 4)
	got := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		redissub.Receive(ctx, ps, log, redissub.Config{Name: "test subscription", MaxBackoff: 200 * time.Millisecond}, func(msg any) {
			switch m := msg.(type) {
			case *redis.Message:
				got <- m.Payload
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					subscribed <- struct{}{}
				}
			}
		})
	}()

	publish := func(payload string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			n, err := rdb.Publish(pctx, "ch", payload).Result()
			pcancel()
			if err == nil && n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish %s: %d receivers, %v", payload, n, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case p := <-got:
			if p != payload {
				t.Fatalf("got %q, want %q", p, payload)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s never arrived", payload)
		}
	}

	<-subscribed
	publish("one")
	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for logs.count("test subscription lost, reconnecting") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("outage not logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Restart(t)
	publish("two")
	if n := logs.count("test subscription restored"); n != 1 {
		t.Fatalf("restore logged %d times, want 1", n)
	}
	if n := logs.count("test subscription lost, reconnecting"); n != 1 {
		t.Fatalf("outage logged %d times, want 1", n)
	}
	cancel()
	_ = ps.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return after its context ended and ps was closed")
	}
}

package redissub_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redissub"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// syncBuffer is a log sink the receive goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
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
	for !strings.Contains(logs.String(), "test subscription lost, reconnecting") {
		if time.Now().After(deadline) {
			t.Fatalf("outage not logged: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Restart(t)
	publish("two")
	if !strings.Contains(logs.String(), "test subscription restored") {
		t.Fatalf("restore not logged: %s", logs.String())
	}
	if n := strings.Count(logs.String(), "lost, reconnecting"); n != 1 {
		t.Fatalf("outage logged %d times: %s", n, logs.String())
	}
	cancel()
	_ = ps.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return after its context ended and ps was closed")
	}
}

package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/store"
)

// fakeLeases is a liveLeaser whose renewals can be made to fail, as during
// a Redis outage, and whose every lease has already expired.
type fakeLeases struct {
	mu      sync.Mutex
	down    bool
	claims  int
	expired []string
}

func (f *fakeLeases) RenewLiveLeases(context.Context, []string, time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return store.ErrUnavailable
	}
	return nil
}
func (f *fakeLeases) DropLiveLease(context.Context, string) error { return nil }
func (f *fakeLeases) ClaimExpiredLiveLeases(context.Context, time.Time) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims++
	ids := f.expired
	f.expired = nil
	return ids, nil
}
func (f *fakeLeases) LiveLeased(context.Context, string) (bool, error) { return false, nil }

type recordStatus struct {
	mu  sync.Mutex
	set map[string]store.Status
}

func (r *recordStatus) SetStatus(_ context.Context, id string, s store.Status, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set[id] = s
	return nil
}

// TestLeaseSweepWaitsAfterAnOutage: when Redis comes back, every node's
// leases may have run out; a node must not end other nodes' shows before
// they had two periods to renew, and then ends the ones nobody renewed.
func TestLeaseSweepWaitsAfterAnOutage(t *testing.T) {
	f := &fakeLeases{down: true}
	rec := &recordStatus{set: map[string]store.Status{}}
	st := newStatusSync(rec, slog.New(slog.DiscardHandler))
	defer st.close(context.Background())
	every := 50 * time.Millisecond
	k := startLeaseKeeper(f, media.NewRegistry(media.RegistryConfig{}, nil), st, slog.New(slog.DiscardHandler), every, 3*every)
	defer k.close()

	time.Sleep(3 * every) // Redis down: no renewal, no sweep
	f.mu.Lock()
	claimsDown := f.claims
	f.down = false
	f.expired = []string{"other-node-gig"}
	back := time.Now()
	f.mu.Unlock()
	if claimsDown != 0 {
		t.Fatalf("swept %d times while Redis was down", claimsDown)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		rec.mu.Lock()
		got := rec.set["other-node-gig"]
		rec.mu.Unlock()
		if got == store.StatusEnded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unrenewed gig was never ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if waited := time.Since(back); waited < 2*every {
		t.Fatalf("ended another node's gig %s after Redis returned, before two renewal periods (%s)", waited, 2*every)
	}
}

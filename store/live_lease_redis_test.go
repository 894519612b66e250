package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
)

func TestLiveLeasesExpireOnceForOneClaimer(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newRedisStore(t, srv.URL(), nil), newRedisStore(t, srv.URL(), nil)
	ctx := context.Background()
	if err := a.RenewLiveLeases(ctx, []string{"g1", "g2"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ids, err := b.ClaimExpiredLiveLeases(ctx, time.Now()); err != nil || len(ids) != 0 {
		t.Fatalf("fresh leases claimed: %v %v", ids, err)
	}
	if ok, err := b.LiveLeased(ctx, "g1"); err != nil || !ok {
		t.Fatalf("g1 leased = %v %v", ok, err)
	}
	// g2 ends normally; g1's node stops renewing.
	if err := a.DropLiveLease(ctx, "g2"); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(11 * time.Second)
	ids, err := b.ClaimExpiredLiveLeases(ctx, later)
	if err != nil || !slices.Equal(ids, []string{"g1"}) {
		t.Fatalf("expired claimed by b = %v %v, want [g1]", ids, err)
	}
	if ids, err := a.ClaimExpiredLiveLeases(ctx, later); err != nil || len(ids) != 0 {
		t.Fatalf("a second claimer got %v %v", ids, err)
	}
	if ok, _ := b.LiveLeased(ctx, "g1"); ok {
		t.Fatal("g1 still leased after its claim")
	}
}

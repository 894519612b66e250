package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
)

// TestSweeperRemovesExpiredGigsWithTheirTickets: an ended gig past its
// retention disappears with its tickets; a live one stays.
func TestSweeperRemovesExpiredGigsWithTheirTickets(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	gigs := store.NewMemoryWith(store.MemoryConfig{EndedRetention: time.Hour, Now: clock})
	tickets := ticket.NewMemoryStore()
	in := store.GigInput{CreatorName: "A", Title: "Old show", Category: "Comedy",
		StartsAt: now.Add(time.Hour).UTC().Format(time.RFC3339), EndsAt: now.Add(2 * time.Hour).UTC().Format(time.RFC3339), Access: "ticket"}
	old, _, err := gigs.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	live, _, err := gigs.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []store.Gig{old, live} {
		if err := gigs.SetStatus(ctx, g.ID, store.StatusLive, now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tickets.Issue(ctx, ticket.Issue{GigID: g.ID, Holder: ticket.Holder{Name: "Ann", Email: "ann@example.com"}, Kind: ticket.KindFree}); err != nil {
			t.Fatal(err)
		}
	}
	if err := gigs.SetStatus(ctx, old.ID, store.StatusEnded, now); err != nil {
		t.Fatal(err)
	}
	s := &sweeper{gigs: gigs, drop: tickets, log: slog.New(slog.DiscardHandler), interval: time.Minute}
	if n := s.sweep(ctx, now.Add(30*time.Minute)); n != 0 {
		t.Fatalf("swept %d gigs inside the retention", n)
	}
	now = now.Add(2 * time.Hour)
	if n := s.sweep(ctx, now); n != 1 {
		t.Fatalf("swept %d gigs, want the ended one", n)
	}
	if _, err := gigs.Get(ctx, old.ID); err == nil {
		t.Fatal("the expired gig is still there")
	}
	if ts, _ := tickets.List(ctx, old.ID); len(ts) != 0 {
		t.Fatalf("the expired gig kept %d tickets", len(ts))
	}
	if ts, _ := tickets.List(ctx, live.ID); len(ts) != 1 {
		t.Fatal("the live gig lost its ticket")
	}
}

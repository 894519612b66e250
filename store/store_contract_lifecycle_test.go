package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// sweeper is what the lead's periodic job calls on either engine.
type sweeper interface {
	SweepExpired(ctx context.Context, now time.Time) ([]string, error)
}

var (
	_ sweeper = (*MemoryStore)(nil)
	_ sweeper = (*RedisStore)(nil)
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// runContractRetention holds both engines to the same life cycle of an
// ended gig: kept for the retention, then swept with its stream key, and
// kept for good if it goes live again.
func runContractRetention(t *testing.T, newStore newStoreFunc) {
	ctx := context.Background()
	const retention = 24 * time.Hour
	sweep := func(t *testing.T, s Store, now time.Time) []string {
		t.Helper()
		ids, err := s.(sweeper).SweepExpired(ctx, now)
		if err != nil {
			t.Fatalf("sweep at %v: %v", now, err)
		}
		return ids
	}
	end := func(t *testing.T, s Store, id string, at time.Time) {
		t.Helper()
		if err := s.SetStatus(ctx, id, StatusLive, at.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStatus(ctx, id, StatusEnded, at); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("ended gigs are swept after the retention", func(t *testing.T) {
		s := newStore(t, storeOptions{now: newTestClock(testBase.Add(-time.Hour)).Now, retention: retention})
		first, firstSec := mustCreate(t, s, inputAt("first", testBase, CategoryMusic))
		second, _ := mustCreate(t, s, inputAt("second", testBase, CategoryDance))
		mustCreate(t, s, inputAt("scheduled", testBase.Add(time.Minute), CategoryMusic))
		end(t, s, first.ID, testBase.Add(time.Hour))
		end(t, s, second.ID, testBase.Add(2*time.Hour))

		if ids := sweep(t, s, testBase.Add(time.Hour+retention-time.Second)); len(ids) != 0 {
			t.Fatalf("swept %v before the retention ran out", ids)
		}
		if _, err := s.Get(ctx, first.ID); err != nil {
			t.Fatalf("gig gone before its retention: %v", err)
		}
		if ids := sweep(t, s, testBase.Add(time.Hour+retention)); !slices.Equal(ids, []string{first.ID}) {
			t.Fatalf("swept %v, want [%s]", ids, first.ID)
		}
		if _, err := s.Get(ctx, first.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get swept gig: %v", err)
		}
		if _, err := s.ResolveStreamKey(ctx, firstSec.StreamKey); !errors.Is(err, access.ErrUnknownKey) {
			t.Fatalf("stream key of a swept gig: %v", err)
		}
		if got := strings.Join(titles(listAll(t, s, Filter{})), ","); got != "second,scheduled" {
			t.Fatalf("list after sweep: %s", got)
		}
		if got := strings.Join(titles(listAll(t, s, Filter{Status: StatusEnded, Category: CategoryMusic})), ","); got != "" {
			t.Fatalf("ended music after sweep: %s", got)
		}
		if ids := sweep(t, s, testBase.Add(time.Hour+retention)); len(ids) != 0 {
			t.Fatalf("a gig was swept twice: %v", ids)
		}
		if ids := sweep(t, s, testBase.Add(100*retention)); !slices.Equal(ids, []string{second.ID}) {
			t.Fatalf("swept %v, want [%s]", ids, second.ID)
		}
		if got := strings.Join(titles(listAll(t, s, Filter{})), ","); got != "scheduled" {
			t.Fatalf("list after second sweep: %s", got)
		}
	})

	t.Run("a gig that goes live again is kept", func(t *testing.T) {
		s := newStore(t, storeOptions{now: newTestClock(testBase.Add(-time.Hour)).Now, retention: retention})
		g, sec := mustCreate(t, s, inputAt("restream", testBase, CategoryComedy))
		end(t, s, g.ID, testBase.Add(time.Hour))
		if err := s.SetStatus(ctx, g.ID, StatusLive, testBase.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ids := sweep(t, s, testBase.Add(100*retention)); len(ids) != 0 {
			t.Fatalf("swept a live gig: %v", ids)
		}
		if id, err := s.ResolveStreamKey(ctx, sec.StreamKey); err != nil || id != g.ID {
			t.Fatalf("stream key of a restreamed gig: %q %v", id, err)
		}
		// Ending it again starts a new retention from the new end.
		if err := s.SetStatus(ctx, g.ID, StatusEnded, testBase.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ids := sweep(t, s, testBase.Add(3*time.Hour+retention-time.Second)); len(ids) != 0 {
			t.Fatalf("swept %v before the new retention ran out", ids)
		}
		if ids := sweep(t, s, testBase.Add(3*time.Hour+retention)); !slices.Equal(ids, []string{g.ID}) {
			t.Fatalf("swept %v, want [%s]", ids, g.ID)
		}
	})

	t.Run("rotating the key of an ended gig keeps its retention", func(t *testing.T) {
		s := newStore(t, storeOptions{now: newTestClock(testBase.Add(-time.Hour)).Now, retention: retention})
		g, _ := mustCreate(t, s, inputAt("rotated", testBase, CategoryComedy))
		end(t, s, g.ID, testBase.Add(time.Hour))
		key, err := s.RotateStreamKey(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		title := "edited after the show"
		if _, err := s.Update(ctx, g.ID, Patch{Title: &title}); err != nil {
			t.Fatal(err)
		}
		if ids := sweep(t, s, testBase.Add(time.Hour+retention)); !slices.Equal(ids, []string{g.ID}) {
			t.Fatalf("swept %v, want [%s]", ids, g.ID)
		}
		if _, err := s.ResolveStreamKey(ctx, key); !errors.Is(err, access.ErrUnknownKey) {
			t.Fatalf("rotated key of a swept gig: %v", err)
		}
	})

	t.Run("a negative retention keeps ended gigs", func(t *testing.T) {
		s := newStore(t, storeOptions{now: newTestClock(testBase.Add(-time.Hour)).Now, retention: -1})
		g, _ := mustCreate(t, s, inputAt("kept", testBase, CategoryPlay))
		end(t, s, g.ID, testBase.Add(time.Hour))
		if ids := sweep(t, s, testBase.Add(100*365*24*time.Hour)); len(ids) != 0 {
			t.Fatalf("swept %v with retention off", ids)
		}
		if _, err := s.Get(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a sweep removes at most SweepBatch gigs", func(t *testing.T) {
		s := newStore(t, storeOptions{now: newTestClock(testBase.Add(-time.Hour)).Now, retention: retention})
		n := SweepBatch + 3
		for i := 0; i < n; i++ {
			g, _ := mustCreate(t, s, inputAt("many", testBase, CategoryPlay))
			end(t, s, g.ID, testBase.Add(time.Duration(i)*time.Second))
		}
		later := testBase.Add(2 * retention)
		if ids := sweep(t, s, later); len(ids) != SweepBatch {
			t.Fatalf("first sweep removed %d, want %d", len(ids), SweepBatch)
		}
		if ids := sweep(t, s, later); len(ids) != 3 {
			t.Fatalf("second sweep removed %d, want 3", len(ids))
		}
	})
}

// runContractPastStart: a new gig cannot start in the past (beyond
// PastStartGrace), but a gig whose start has passed can still be edited.
func runContractPastStart(t *testing.T, newStore newStoreFunc) {
	ctx := context.Background()

	t.Run("create refuses a start in the past", func(t *testing.T) {
		s := newStore(t, storeOptions{now: newTestClock(testBase).Now})
		_, _, err := s.Create(ctx, inputAt("late", testBase.Add(-PastStartGrace-time.Second), CategoryMusic))
		wantField(t, err, "starts_at")
		if got := listAll(t, s, Filter{}); len(got) != 0 {
			t.Fatalf("refused gig stored: %v", titles(got))
		}
		// Going live now with a form filled in a few minutes ago works.
		mustCreate(t, s, inputAt("just now", testBase.Add(-PastStartGrace), CategoryMusic))
		mustCreate(t, s, inputAt("soon", testBase.Add(time.Minute), CategoryMusic))
	})

	t.Run("update keeps a past start valid", func(t *testing.T) {
		clock := newTestClock(testBase)
		s := newStore(t, storeOptions{now: clock.Now})
		g, _ := mustCreate(t, s, inputAt("show", testBase.Add(time.Hour), CategoryMusic))
		clock.Set(testBase.Add(30 * 24 * time.Hour)) // the show is long over
		title := "show (recording)"
		if _, err := s.Update(ctx, g.ID, Patch{Title: &title}); err != nil {
			t.Fatalf("edit a gig whose start passed: %v", err)
		}
		// The same start, written another way, is not a move.
		same := testBase.Add(time.Hour).In(time.FixedZone("x", 2*3600)).Format(time.RFC3339)
		if _, err := s.Update(ctx, g.ID, Patch{StartsAt: &same}); err != nil {
			t.Fatalf("resend the unchanged start: %v", err)
		}
		past := testBase.Add(90 * time.Minute).Format(time.RFC3339)
		_, err := s.Update(ctx, g.ID, Patch{StartsAt: &past})
		wantField(t, err, "starts_at")
		future, futureEnd := clock.Now().Add(time.Hour).Format(time.RFC3339), clock.Now().Add(2*time.Hour).Format(time.RFC3339)
		if up, err := s.Update(ctx, g.ID, Patch{StartsAt: &future, EndsAt: &futureEnd}); err != nil || up.Title != title {
			t.Fatalf("move the start to the future: %+v %v", up, err)
		}
	})
}

// runContractIndexes: filtered lists follow a gig through changes of
// category and status.
func runContractIndexes(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("list follows category and status changes", func(t *testing.T) {
		s := newStore(t)
		g, _ := mustCreate(t, s, inputAt("moved", testBase, CategoryMusic))
		mustCreate(t, s, inputAt("stays", testBase.Add(time.Hour), CategoryMusic))
		dance := "dance"
		if _, err := s.Update(ctx, g.ID, Patch{Category: &dance}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStatus(ctx, g.ID, StatusLive, testBase); err != nil {
			t.Fatal(err)
		}
		check := func(f Filter, want string) {
			t.Helper()
			if got := strings.Join(titles(listAll(t, s, f)), ","); got != want {
				t.Fatalf("%+v: got %q, want %q", f, got, want)
			}
		}
		check(Filter{Category: CategoryMusic}, "stays")
		check(Filter{Category: CategoryDance}, "moved")
		check(Filter{Category: CategoryDance, Status: StatusLive}, "moved")
		check(Filter{Category: CategoryDance, Status: StatusScheduled}, "")
		if err := s.SetStatus(ctx, g.ID, StatusEnded, testBase.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		music := "Music"
		if _, err := s.Update(ctx, g.ID, Patch{Category: &music}); err != nil {
			t.Fatal(err)
		}
		check(Filter{Category: CategoryDance}, "")
		check(Filter{Category: CategoryMusic, Status: StatusEnded}, "moved")
		check(Filter{Category: CategoryMusic, Limit: 1}, "moved,stays")
		check(Filter{Status: StatusEnded, Category: CategoryMusic, From: testBase, To: testBase.Add(time.Minute)}, "moved")
		check(Filter{Category: CategoryMusic, From: testBase.Add(time.Minute)}, "stays")
	})
}

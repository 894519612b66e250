package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/secret"
)

// newStoreFunc returns a fresh, empty store for one subtest.
type newStoreFunc func(t *testing.T, o storeOptions) Store

// storeOptions are the config fields both engines share; zero values mean
// the defaults (the real clock, DefaultEndedRetention).
type storeOptions struct {
	now       func() time.Time
	retention time.Duration
}

// base is a fixed reference time so that tests are deterministic.
var testBase = time.Date(2030, 6, 1, 18, 0, 0, 0, time.UTC)

func validInput() GigInput {
	return GigInput{
		CreatorName:    "Ada Lovelace",
		Title:          "Analytical Comedy",
		Description:    "Jokes about engines.\nTwo acts.",
		Category:       "Comedy",
		PriceMinor:     1500,
		Currency:       "usd",
		StartsAt:       testBase.Format(time.RFC3339),
		EndsAt:         testBase.Add(90 * time.Minute).Format(time.RFC3339),
		PaymentPointer: "$wallet.example/ada",
	}
}

func inputAt(title string, start time.Time, cat Category) GigInput {
	in := validInput()
	in.Title = title
	in.Category = string(cat)
	in.StartsAt = start.Format(time.RFC3339)
	in.EndsAt = start.Add(time.Hour).Format(time.RFC3339)
	return in
}

func mustCreate(t *testing.T, s Store, in GigInput) (Gig, Secrets) {
	t.Helper()
	g, sec, err := s.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Title, err)
	}
	return g, sec
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v, want *ValidationError for field %q", err, field)
	}
	if ve.Field != field {
		t.Fatalf("validation error names field %q (%s), want %q", ve.Field, ve.Message, field)
	}
}

func titles(gigs []Gig) []string {
	out := make([]string, len(gigs))
	for i, g := range gigs {
		out[i] = g.Title
	}
	return out
}

// listAll walks every page with the given page size.
func listAll(t *testing.T, s Store, f Filter) []Gig {
	t.Helper()
	var all []Gig
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not terminate")
		}
		p, err := s.List(context.Background(), f)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		all = append(all, p.Gigs...)
		if p.NextCursor == "" {
			return all
		}
		if f.Limit > 0 && len(p.Gigs) != f.Limit {
			t.Fatalf("non-final page has %d gigs, want %d", len(p.Gigs), f.Limit)
		}
		f.Cursor = p.NextCursor
	}
}

// runContract is the one test suite every engine must pass.
func runContract(t *testing.T, newStoreWith newStoreFunc) {
	ctx := context.Background()
	newStore := func(t *testing.T) Store { return newStoreWith(t, storeOptions{}) }

	t.Run("create and get", func(t *testing.T) {
		s := newStore(t)
		g, sec := mustCreate(t, s, validInput())
		if !secret.ValidID(g.ID) || g.Status != StatusScheduled || g.Currency != "USD" || g.Category != CategoryComedy {
			t.Fatalf("unexpected created gig: %+v", g)
		}
		if g.CreatedAt.IsZero() || !g.UpdatedAt.Equal(g.CreatedAt) || !g.StartedAt.IsZero() {
			t.Fatalf("server times wrong: %+v", g)
		}
		if !strings.HasPrefix(sec.StreamKey, StreamKeyPrefix) || !strings.HasPrefix(sec.ManageToken, ManageTokenPrefix) ||
			len(sec.StreamKey) < 40 || len(sec.ManageToken) < 40 {
			t.Fatalf("secrets have the wrong shape")
		}
		got, err := s.Get(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameGig(got, g) {
			t.Fatalf("get returned %+v, want %+v", got, g)
		}
		_, sec2 := mustCreate(t, s, validInput())
		if sec2.StreamKey == sec.StreamKey || sec2.ManageToken == sec.ManageToken {
			t.Fatal("secrets repeat between gigs")
		}
	})

	t.Run("create rejects invalid input and stores nothing", func(t *testing.T) {
		s := newStore(t)
		for _, tc := range invalidInputs() {
			_, _, err := s.Create(ctx, tc.in)
			wantField(t, err, tc.field)
		}
		p, err := s.List(ctx, Filter{})
		if err != nil || len(p.Gigs) != 0 {
			t.Fatalf("after invalid creates: %d gigs, err %v", len(p.Gigs), err)
		}
	})

	t.Run("get unknown", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"aaaaaaaaaaaaaaaa", "", "../../etc", "bmg:gigs:by_start", strings.Repeat("z", 300)} {
			if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get %q: %v, want ErrNotFound", id, err)
			}
		}
	})

	t.Run("list order live first then start then id", func(t *testing.T) {
		s := newStore(t)
		late, _ := mustCreate(t, s, inputAt("late", testBase.Add(3*time.Hour), CategoryMusic))
		mustCreate(t, s, inputAt("early", testBase.Add(time.Hour), CategoryMusic))
		liveLate, _ := mustCreate(t, s, inputAt("live-late", testBase.Add(5*time.Hour), CategoryDance))
		liveEarly, _ := mustCreate(t, s, inputAt("live-early", testBase.Add(4*time.Hour), CategoryDance))
		ended, _ := mustCreate(t, s, inputAt("ended", testBase.Add(2*time.Hour), CategoryPlay))
		tieA, _ := mustCreate(t, s, inputAt("tie", testBase, CategoryPlay))
		tieB, _ := mustCreate(t, s, inputAt("tie", testBase, CategoryPlay))
		for _, id := range []string{liveLate.ID, liveEarly.ID, ended.ID} {
			if err := s.SetStatus(ctx, id, StatusLive, testBase); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetStatus(ctx, ended.ID, StatusEnded, testBase.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		_ = late
		p, err := s.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(titles(p.Gigs), ",")
		if want := "live-early,live-late,tie,tie,early,ended,late"; got != want {
			t.Fatalf("order %s, want %s", got, want)
		}
		if first, second := p.Gigs[2].ID, p.Gigs[3].ID; first > second || !(first == min(tieA.ID, tieB.ID)) {
			t.Fatalf("equal start times not ordered by id: %s, %s", first, second)
		}
		if p.NextCursor != "" {
			t.Fatal("single page has a next cursor")
		}
	})

	t.Run("list pagination walks every gig once", func(t *testing.T) {
		s := newStore(t)
		var want []string
		for i := 0; i < 23; i++ {
			// Several gigs share a start time, so pages split ties.
			g, _ := mustCreate(t, s, inputAt(fmt.Sprintf("g%02d", i), testBase.Add(time.Duration(i/3)*time.Hour), CategoryMusic))
			if i%7 == 0 {
				if err := s.SetStatus(ctx, g.ID, StatusLive, testBase); err != nil {
					t.Fatal(err)
				}
			}
		}
		full := listAll(t, s, Filter{Limit: MaxPageSize})
		for _, g := range full {
			want = append(want, g.ID)
		}
		if len(want) != 23 {
			t.Fatalf("one page holds %d gigs, want 23", len(want))
		}
		for _, size := range []int{1, 2, 3, 7, 22, 23, 24} {
			all := listAll(t, s, Filter{Limit: size})
			got := make([]string, len(all))
			for i, g := range all {
				got[i] = g.ID
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("page size %d: walked %v, want %v", size, got, want)
			}
		}
	})

	t.Run("list pagination over many equal start times", func(t *testing.T) {
		s := newStore(t)
		for i := 0; i < 150; i++ {
			cat := CategoryMusic
			if i%10 == 0 {
				cat = CategoryDance // sparse: the engine must read past many non-matching gigs
			}
			mustCreate(t, s, inputAt("same", testBase, cat))
		}
		for _, f := range []Filter{{Limit: 7}, {Limit: MaxPageSize}, {Limit: 4, Category: CategoryDance}} {
			all := listAll(t, s, f)
			want := 150
			if f.Category != "" {
				want = 15
			}
			if len(all) != want {
				t.Fatalf("%+v: walked %d gigs, want %d", f, len(all), want)
			}
			for i := 1; i < len(all); i++ {
				if all[i-1].ID >= all[i].ID {
					t.Fatalf("%+v: ids out of order at %d", f, i)
				}
			}
		}
	})

	t.Run("list filters", func(t *testing.T) {
		s := newStore(t)
		music, _ := mustCreate(t, s, inputAt("music", testBase, CategoryMusic))
		mustCreate(t, s, inputAt("dance", testBase.Add(2*time.Hour), CategoryDance))
		fit, _ := mustCreate(t, s, inputAt("fitness", testBase.Add(4*time.Hour), CategoryFitness))
		if err := s.SetStatus(ctx, fit.ID, StatusLive, testBase); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStatus(ctx, music.ID, StatusEnded, testBase); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			f    Filter
			want string
		}{
			{"status live", Filter{Status: StatusLive}, "fitness"},
			{"status scheduled", Filter{Status: StatusScheduled}, "dance"},
			{"status ended", Filter{Status: StatusEnded}, "music"},
			{"category any case", Filter{Category: "dAnCe"}, "dance"},
			{"from inclusive", Filter{From: testBase.Add(2 * time.Hour)}, "fitness,dance"},
			{"from fractional", Filter{From: testBase.Add(2*time.Hour - time.Millisecond)}, "fitness,dance"},
			{"to exclusive", Filter{To: testBase.Add(2 * time.Hour)}, "music"},
			{"to fractional", Filter{To: testBase.Add(2*time.Hour + time.Millisecond)}, "music,dance"},
			{"from and to", Filter{From: testBase.Add(time.Hour), To: testBase.Add(3 * time.Hour)}, "dance"},
			{"empty window", Filter{From: testBase.Add(10 * time.Hour), To: testBase.Add(11 * time.Hour)}, ""},
			{"status and category", Filter{Status: StatusLive, Category: CategoryMusic}, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := strings.Join(titles(listAll(t, s, tc.f)), ",")
				if got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				// The same through pages of one.
				tc.f.Limit = 1
				if got := strings.Join(titles(listAll(t, s, tc.f)), ","); got != tc.want {
					t.Fatalf("paged: got %q, want %q", got, tc.want)
				}
			})
		}
		bad := []struct {
			f     Filter
			field string
		}{
			{Filter{Status: "paused"}, "status"},
			{Filter{Category: "Opera"}, "category"},
			{Filter{Limit: -1}, "limit"},
			{Filter{Limit: MaxPageSize + 1}, "limit"},
			{Filter{Cursor: "not-a-cursor"}, "cursor"},
			{Filter{Cursor: encodeCursor(position{phase: 1, id: "x"})}, "cursor"},
			{Filter{From: testBase, To: testBase}, "to"},
		}
		for _, tc := range bad {
			_, err := s.List(ctx, tc.f)
			wantField(t, err, tc.field)
		}
	})

	t.Run("update", func(t *testing.T) {
		s := newStore(t)
		g, _ := mustCreate(t, s, validInput())
		time.Sleep(2 * time.Millisecond)
		title, price := "  New title  ", int64(0)
		up, err := s.Update(ctx, g.ID, Patch{Title: &title, PriceMinor: &price})
		if err != nil {
			t.Fatal(err)
		}
		if up.Title != "New title" || up.PriceMinor != 0 || up.Description != g.Description || up.ID != g.ID ||
			!up.CreatedAt.Equal(g.CreatedAt) || !up.UpdatedAt.After(g.UpdatedAt) {
			t.Fatalf("bad update result: %+v", up)
		}
		got, _ := s.Get(ctx, g.ID)
		if !sameGig(got, up) {
			t.Fatalf("get after update %+v, want %+v", got, up)
		}
		// ends_at before the existing starts_at: the whole gig is re-validated.
		early := testBase.Add(-time.Hour).Format(time.RFC3339)
		_, err = s.Update(ctx, g.ID, Patch{EndsAt: &early})
		wantField(t, err, "ends_at")
		empty := ""
		_, err = s.Update(ctx, g.ID, Patch{Title: &empty})
		wantField(t, err, "title")
		if got2, _ := s.Get(ctx, g.ID); !sameGig(got2, up) {
			t.Fatal("failed update changed the gig")
		}
		if _, err := s.Update(ctx, "aaaaaaaaaaaaaaaa", Patch{Title: &title}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		// Moving the start moves the gig in list order.
		other, _ := mustCreate(t, s, inputAt("other", testBase.Add(time.Hour), CategoryMusic))
		ns, ne := testBase.Add(2*time.Hour).Format(time.RFC3339), testBase.Add(3*time.Hour).Format(time.RFC3339)
		if _, err := s.Update(ctx, g.ID, Patch{StartsAt: &ns, EndsAt: &ne}); err != nil {
			t.Fatal(err)
		}
		p, _ := s.List(ctx, Filter{})
		if len(p.Gigs) != 2 || p.Gigs[0].ID != other.ID {
			t.Fatalf("order after moving start: %v", titles(p.Gigs))
		}
		// Clearing the payment pointer.
		if up, err := s.Update(ctx, g.ID, Patch{PaymentPointer: &empty}); err != nil || up.PaymentPointer != "" {
			t.Fatalf("clear payment pointer: %+v %v", up, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		s := newStore(t)
		g, sec := mustCreate(t, s, validInput())
		keep, keepSec := mustCreate(t, s, validInput())
		if err := s.Delete(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, g.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if _, err := s.ResolveStreamKey(ctx, sec.StreamKey); !errors.Is(err, access.ErrUnknownKey) {
			t.Fatalf("stream key after delete: %v", err)
		}
		if err := s.Delete(ctx, g.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		p, _ := s.List(ctx, Filter{})
		if len(p.Gigs) != 1 || p.Gigs[0].ID != keep.ID {
			t.Fatalf("list after delete: %v", titles(p.Gigs))
		}
		if err := s.SetStatus(ctx, keep.ID, StatusLive, testBase); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, keep.ID); !errors.Is(err, ErrConflict) {
			t.Fatalf("delete live gig: %v, want ErrConflict", err)
		}
		if id, err := s.ResolveStreamKey(ctx, keepSec.StreamKey); err != nil || id != keep.ID {
			t.Fatalf("refused delete touched the key: %q %v", id, err)
		}
	})

	t.Run("stream keys resolve and rotate", func(t *testing.T) {
		s := newStore(t)
		g, sec := mustCreate(t, s, validInput())
		if id, err := s.ResolveStreamKey(ctx, sec.StreamKey); err != nil || id != g.ID {
			t.Fatalf("resolve: %q %v", id, err)
		}
		for _, k := range []string{"", "sk_wrong", sec.ManageToken, sec.StreamKey + "x"} {
			if _, err := s.ResolveStreamKey(ctx, k); !errors.Is(err, access.ErrUnknownKey) {
				t.Fatalf("resolve %q: %v, want access.ErrUnknownKey", k, err)
			}
		}
		newKey, err := s.RotateStreamKey(ctx, g.ID)
		if err != nil || newKey == sec.StreamKey || !strings.HasPrefix(newKey, StreamKeyPrefix) {
			t.Fatalf("rotate: %v", err)
		}
		if _, err := s.ResolveStreamKey(ctx, sec.StreamKey); !errors.Is(err, access.ErrUnknownKey) {
			t.Fatalf("old key after rotate: %v", err)
		}
		if id, err := s.ResolveStreamKey(ctx, newKey); err != nil || id != g.ID {
			t.Fatalf("new key: %q %v", id, err)
		}
		if _, err := s.RotateStreamKey(ctx, "aaaaaaaaaaaaaaaa"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rotate unknown: %v", err)
		}
	})

	t.Run("manage token", func(t *testing.T) {
		s := newStore(t)
		g, sec := mustCreate(t, s, validInput())
		_, other := mustCreate(t, s, validInput())
		cases := []struct {
			id, token string
			want      error
		}{
			{g.ID, sec.ManageToken, nil},
			{g.ID, "", ErrUnauthorized},
			{g.ID, other.ManageToken, ErrForbidden},
			{g.ID, sec.StreamKey, ErrForbidden},
			{g.ID, sec.ManageToken[:len(sec.ManageToken)-1], ErrForbidden},
			{"aaaaaaaaaaaaaaaa", sec.ManageToken, ErrNotFound},
		}
		for _, tc := range cases {
			if err := s.CheckManageToken(ctx, tc.id, tc.token); !errors.Is(err, tc.want) {
				t.Fatalf("check %q: %v, want %v", tc.token, err, tc.want)
			}
		}
		if !errors.Is(ErrInvalidToken, ErrForbidden) {
			t.Fatal("ErrInvalidToken must match ErrForbidden")
		}
	})

	t.Run("status transitions", func(t *testing.T) {
		s := newStore(t)
		g, _ := mustCreate(t, s, validInput())
		t1, t2, t3 := testBase.Add(time.Minute), testBase.Add(time.Hour), testBase.Add(2*time.Hour)
		step := func(st Status, at time.Time, want error) Gig {
			t.Helper()
			if err := s.SetStatus(ctx, g.ID, st, at); !errors.Is(err, want) {
				t.Fatalf("set %s: %v, want %v", st, err, want)
			}
			got, err := s.Get(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := step(StatusLive, t1, nil); got.Status != StatusLive || !got.StartedAt.Equal(t1) || !got.EndedAt.IsZero() {
			t.Fatalf("after live: %+v", got)
		}
		if got := step(StatusLive, t2, nil); !got.StartedAt.Equal(t1) {
			t.Fatalf("repeated live moved started_at: %+v", got)
		}
		if got := step(StatusEnded, t2, nil); got.Status != StatusEnded || !got.EndedAt.Equal(t2) || !got.StartedAt.Equal(t1) {
			t.Fatalf("after ended: %+v", got)
		}
		if got := step(StatusScheduled, t3, ErrConflict); got.Status != StatusEnded {
			t.Fatalf("refused transition changed status: %+v", got)
		}
		if got := step(StatusLive, t3, nil); !got.StartedAt.Equal(t3) || !got.EndedAt.IsZero() {
			t.Fatalf("going live again: %+v", got)
		}
		err := s.SetStatus(ctx, g.ID, "paused", t3)
		wantField(t, err, "status")
		if err := s.SetStatus(ctx, "aaaaaaaaaaaaaaaa", StatusLive, t3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown gig: %v", err)
		}
		if p, _ := s.List(ctx, Filter{Status: StatusLive}); len(p.Gigs) != 1 {
			t.Fatalf("live index holds %d gigs", len(p.Gigs))
		}
		if p, _ := s.List(ctx, Filter{Status: StatusEnded}); len(p.Gigs) != 0 {
			t.Fatalf("ended index still holds %d gigs", len(p.Gigs))
		}
	})

	t.Run("concurrent writers", func(t *testing.T) {
		s := newStore(t)
		g, _ := mustCreate(t, s, validInput())
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := 0; i < 8; i++ {
			wg.Add(3)
			go func() {
				defer wg.Done()
				title := fmt.Sprintf("title %d", i)
				_, err := s.Update(ctx, g.ID, Patch{Title: &title})
				errs <- err
			}()
			go func() {
				defer wg.Done()
				_, err := s.RotateStreamKey(ctx, g.ID)
				errs <- err
			}()
			go func() {
				defer wg.Done()
				_, _, err := s.Create(ctx, validInput())
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if p, _ := s.List(ctx, Filter{Limit: MaxPageSize}); len(p.Gigs) != 9 {
			t.Fatalf("%d gigs, want 9", len(p.Gigs))
		}
	})

	runContractRetention(t, newStoreWith)
	runContractPastStart(t, newStoreWith)
	runContractIndexes(t, newStore)

	t.Run("ping and close", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_ = s.Close() // idempotent
	})
}

// sameGig compares gigs, times by instant.
func sameGig(a, b Gig) bool {
	ta := []time.Time{a.StartsAt, a.EndsAt, a.CreatedAt, a.UpdatedAt, a.StartedAt, a.EndedAt}
	tb := []time.Time{b.StartsAt, b.EndsAt, b.CreatedAt, b.UpdatedAt, b.StartedAt, b.EndedAt}
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.StartsAt, a.EndsAt, a.CreatedAt, a.UpdatedAt, a.StartedAt, a.EndedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.StartsAt, b.EndsAt, b.CreatedAt, b.UpdatedAt, b.StartedAt, b.EndedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestMemoryContract(t *testing.T) {
	runContract(t, func(t *testing.T, o storeOptions) Store {
		s := NewMemoryWith(MemoryConfig{Now: o.now, EndedRetention: o.retention})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

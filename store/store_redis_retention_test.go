package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/secret"
	"github.com/redis/go-redis/v9"
)

// pexpireTime is when key expires in unix ms (-1: never, -2: no such key).
func pexpireTime(t *testing.T, admin *redis.Client, key string) int64 {
	t.Helper()
	v, err := admin.Do(context.Background(), "PEXPIRETIME", key).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRedisEndedGigKeysExpire checks the Redis side of retention: ending a
// gig sets the same expiry on its hash and stream key (and on a key
// rotated in later), editing keeps it, going live again clears it, and a
// gig whose keys Redis already expired reads as gone until the sweep
// takes its index entries.
func TestRedisEndedGigKeysExpire(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	s := newRedisStore(t, srv.URL(), nil)
	ctx := context.Background()

	g, sec := mustCreate(t, s, validInput())
	skKey := streamKeyKey(secret.Hash(sec.StreamKey))
	endedAt := testBase.Add(2 * time.Hour)
	if err := s.SetStatus(ctx, g.ID, StatusLive, testBase); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, g.ID, StatusEnded, endedAt); err != nil {
		t.Fatal(err)
	}
	want := endedAt.Add(DefaultEndedRetention).UnixMilli()
	if h, k := pexpireTime(t, admin, gigKey(g.ID)), pexpireTime(t, admin, skKey); h != want || k != want {
		t.Fatalf("expiry of hash %d, stream key %d, want %d", h, k, want)
	}
	newKey, err := s.RotateStreamKey(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k := pexpireTime(t, admin, streamKeyKey(secret.Hash(newKey))); k != want {
		t.Fatalf("rotated key expires at %d, want %d", k, want)
	}
	title := "after the show"
	if _, err := s.Update(ctx, g.ID, Patch{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if h := pexpireTime(t, admin, gigKey(g.ID)); h != want {
		t.Fatalf("edit changed the expiry to %d", h)
	}
	checkConsistent(t, admin)
	if err := s.SetStatus(ctx, g.ID, StatusLive, endedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h, k := pexpireTime(t, admin, gigKey(g.ID)), pexpireTime(t, admin, streamKeyKey(secret.Hash(newKey))); h != -1 || k != -1 {
		t.Fatalf("live again: hash expires at %d, stream key at %d, want never", h, k)
	}
	checkConsistent(t, admin)

	// A gig that ended longer ago than the retention: Redis drops its keys
	// at once, the list skips its index entries, the sweep removes them.
	old, oldSec := mustCreate(t, s, inputAt("old", testBase.Add(time.Hour), CategoryMusic))
	if err := s.SetStatus(ctx, old.ID, StatusEnded, time.Now().Add(-DefaultEndedRetention-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get expired gig: %v", err)
	}
	if _, err := s.ResolveStreamKey(ctx, oldSec.StreamKey); !errors.Is(err, access.ErrUnknownKey) {
		t.Fatalf("stream key of expired gig: %v", err)
	}
	for _, f := range []Filter{{}, {Status: StatusEnded}, {Category: CategoryMusic}, {Category: CategoryMusic, Status: StatusEnded}} {
		for _, got := range listAll(t, s, f) {
			if got.ID == old.ID {
				t.Fatalf("%+v lists the expired gig", f)
			}
		}
	}
	checkConsistent(t, admin)
	ids, err := s.SweepExpired(ctx, time.Now())
	if err != nil || !slices.Equal(ids, []string{old.ID}) {
		t.Fatalf("sweep: %v %v, want [%s]", ids, err, old.ID)
	}
	for _, key := range []string{keyByStart, keyEndedAt, statusKey(StatusEnded), categoryKey(CategoryMusic, StatusEnded)} {
		if _, err := admin.ZScore(ctx, key, old.ID).Result(); !errors.Is(err, redis.Nil) {
			t.Fatalf("%s still holds the swept gig: %v", key, err)
		}
	}
	if n := checkConsistent(t, admin); n != 1 {
		t.Fatalf("%d gigs left, want 1", n)
	}
}

// legacyGig is a gig as the previous release stored it.
func legacyGig(title string, start time.Time, cat Category, st Status) Gig {
	g := Gig{
		ID: secret.NewID(), CreatorName: "Legacy", Title: title, Category: cat, PriceMinor: 100, Currency: "USD",
		StartsAt: start, EndsAt: start.Add(time.Hour), Access: AccessTicket, Status: st,
		CreatedAt: start.Add(-24 * time.Hour), UpdatedAt: start.Add(-24 * time.Hour),
	}
	if st != StatusScheduled {
		g.StartedAt = start
	}
	if st == StatusEnded {
		g.EndedAt = start.Add(time.Hour)
	}
	return g
}

// writeLegacy writes gigs in the layout of index version 1: hash, by_start,
// status index and stream-key lookup; no category or ended_at index, no
// expiry, no version key.
func writeLegacy(t *testing.T, admin *redis.Client, gigs []Gig) {
	t.Helper()
	ctx := context.Background()
	pipe := admin.Pipeline()
	flush := func() {
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, g := range gigs {
		skh := secret.Hash("sk_legacy_" + g.ID)
		pipe.HSet(ctx, gigKey(g.ID), append(gigFields(g), fieldManageHash, secret.Hash("mt_legacy_"+g.ID), fieldStreamKeyHash, skh)...)
		z := redis.Z{Score: float64(g.StartsAt.Unix()), Member: g.ID}
		pipe.ZAdd(ctx, keyByStart, z)
		pipe.ZAdd(ctx, statusKey(g.Status), z)
		pipe.Set(ctx, streamKeyKey(skh), g.ID, 0)
		if i%1000 == 999 {
			flush()
		}
	}
	flush()
}

// TestRedisMigrationBuildsIndexes starts the store on data written by the
// previous release: the new indexes and expiries are built from the
// hashes, lists are right at once, and building again changes nothing.
func TestRedisMigrationBuildsIndexes(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	ctx := context.Background()
	music := legacyGig("music", testBase, CategoryMusic, StatusScheduled)
	dance := legacyGig("dance", testBase.Add(time.Hour), CategoryDance, StatusLive)
	play := legacyGig("play", testBase.Add(-2*time.Hour), CategoryPlay, StatusEnded)
	gone := legacyGig("gone", time.Now().Add(-40*24*time.Hour).Truncate(time.Second), CategoryComedy, StatusEnded)
	writeLegacy(t, admin, []Gig{music, dance, play, gone})

	var logs bytes.Buffer
	s := newRedisStore(t, srv.URL(), &logs)
	if !strings.Contains(logs.String(), "store indexes built") || !strings.Contains(logs.String(), "gigs=4") {
		t.Fatalf("migration not logged:\n%s", logs.String())
	}
	cases := []struct {
		f    Filter
		want string
	}{
		{Filter{}, "dance,play,music"},
		{Filter{Category: CategoryDance}, "dance"},
		{Filter{Category: CategoryPlay, Status: StatusEnded}, "play"},
		{Filter{Category: CategoryMusic, Status: StatusScheduled}, "music"},
		{Filter{Category: CategoryComedy}, ""},
	}
	check := func(s Store) {
		t.Helper()
		for _, tc := range cases {
			if got := strings.Join(titles(listAll(t, s, tc.f)), ","); got != tc.want {
				t.Fatalf("%+v: %q, want %q", tc.f, got, tc.want)
			}
		}
		checkConsistent(t, admin)
	}
	check(s)
	if exp := pexpireTime(t, admin, gigKey(play.ID)); exp != play.EndedAt.Add(DefaultEndedRetention).UnixMilli() {
		t.Fatalf("migrated ended gig expires at %d", exp)
	}

	// Start-up with current indexes does nothing; a lost version key makes
	// the next start build again, to the same state.
	logs.Reset()
	check(newRedisStore(t, srv.URL(), &logs))
	if strings.Contains(logs.String(), "store indexes built") {
		t.Fatal("indexes rebuilt although current")
	}
	if err := admin.Del(ctx, keyIndexVersion).Err(); err != nil {
		t.Fatal(err)
	}
	check(newRedisStore(t, srv.URL(), nil))

	if ids, err := s.SweepExpired(ctx, time.Now()); err != nil || !slices.Equal(ids, []string{gone.ID}) {
		t.Fatalf("sweep: %v %v, want the gig that ended 40 days ago", ids, err)
	}
	if n := checkConsistent(t, admin); n != 3 {
		t.Fatalf("%d gigs after the sweep, want 3", n)
	}
}

// commandCalls returns how many times Redis ran each command since the
// last CONFIG RESETSTAT, commands run by scripts included.
func commandCalls(t *testing.T, admin *redis.Client) map[string]int64 {
	t.Helper()
	info, err := admin.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// TestRedisListReadsOnlyMatchingGigs shows that the cost of a list is set
// by the page, not by how many stored gigs the filter rejects: with 10,000
// gigs that do not match, Redis runs exactly the commands it runs with
// none, counted by INFO commandstats (deterministic, unlike wall time).
func TestRedisListReadsOnlyMatchingGigs(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	ctx := context.Background()

	// 30 matching Dance gigs: 5 live, 5 ended, 20 scheduled.
	var matching []Gig
	for i := 0; i < 30; i++ {
		st := StatusScheduled
		switch {
		case i%6 == 0:
			st = StatusLive
		case i%6 == 1:
			st = StatusEnded
		}
		matching = append(matching, legacyGig(fmt.Sprintf("dance%02d", i), testBase.Add(time.Duration(i)*time.Hour), CategoryDance, st))
	}
	// 10,000 gigs of other categories, with start times interleaved among
	// and before the Dance ones; 3,000 of them live, starting before any
	// gig that is not, so that a walk of the not-live gigs that skipped
	// live ones would read them all first.
	var other []Gig
	cats := []Category{CategoryMusic, CategoryComedy, CategoryPlay, CategoryFitness, CategoryWorkshops}
	for i := 0; i < 10_000; i++ {
		st, start := StatusScheduled, testBase.Add(time.Duration(i)*11*time.Minute)
		switch {
		case i < 3000:
			st, start = StatusLive, testBase.Add(-time.Duration(3000-i)*time.Minute)
		case i%10 == 0:
			st = StatusEnded
		}
		other = append(other, legacyGig(fmt.Sprintf("other%05d", i), start, cats[i%len(cats)], st))
	}

	filters := []Filter{
		{Category: CategoryDance, Limit: 7},
		{Category: CategoryDance},
		{Category: CategoryDance, Status: StatusScheduled, Limit: 4},
		{Category: CategoryDance, Status: StatusLive},
		{Category: CategoryDance, Status: StatusEnded, Limit: 2},
		{Category: CategoryDance, From: testBase.Add(5 * time.Hour), To: testBase.Add(25 * time.Hour), Limit: 3},
	}
	type cost struct{ pages, gigs, hmget, zrange int64 }
	measure := func(s *RedisStore) []cost {
		var out []cost
		for _, f := range filters {
			var c cost
			if err := admin.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for f := f; ; c.pages++ {
				p, err := s.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				c.gigs += int64(len(p.Gigs))
				for _, g := range p.Gigs {
					if g.Category != CategoryDance {
						t.Fatalf("%+v listed %s", f, g.Title)
					}
				}
				if f.Cursor = p.NextCursor; f.Cursor == "" {
					c.pages++
					break
				}
			}
			calls := commandCalls(t, admin)
			c.hmget, c.zrange = calls["hmget"], calls["zrangebyscore"]
			out = append(out, c)
		}
		return out
	}

	writeLegacy(t, admin, matching)
	light := measure(newRedisStore(t, srv.URL(), nil))
	writeLegacy(t, admin, other)
	if err := admin.Del(ctx, keyIndexVersion).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	heavy := newRedisStore(t, srv.URL(), nil) // builds the indexes of the 10,000
	t.Logf("indexes for 10,030 gigs built in %v", time.Since(start))
	if n := checkConsistent(t, admin); n != 10_030 {
		t.Fatalf("%d gigs after migration", n)
	}
	for i, c := range measure(heavy) {
		t.Logf("%+v: %d pages, %d gigs, %d HMGET, %d ZRANGEBYSCORE (without the 10,000: %+v)", filters[i], c.pages, c.gigs, c.hmget, c.zrange, light[i])
		if c != light[i] {
			t.Fatalf("%+v with 10,000 non-matching gigs costs %+v, without %+v", filters[i], c, light[i])
		}
		// One HMGET per listed gig plus one look-ahead per page; the
		// ZRANGEBYSCOREs are a couple per index read.
		if c.hmget > c.gigs+c.pages || c.zrange > 6*c.pages {
			t.Fatalf("%+v: %+v is not proportional to the page", filters[i], c)
		}
		if c.hmget == 0 {
			t.Fatal("commandstats did not count the script's commands")
		}
	}

	// The not-live phase of an unfiltered list does not read the 3,000
	// live gigs that start before every other gig.
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cursor := encodeCursor(position{phase: 1, start: testBase.Add(-24 * time.Hour).Unix(), id: "aaaaaaaaaaaaaaaa"})
	p, err := heavy.List(ctx, Filter{Cursor: cursor, Limit: 20})
	if err != nil || len(p.Gigs) != 20 {
		t.Fatalf("not-live page: %d gigs, %v", len(p.Gigs), err)
	}
	for _, g := range p.Gigs {
		if g.Status == StatusLive {
			t.Fatalf("not-live phase listed live %s", g.Title)
		}
	}
	if calls := commandCalls(t, admin); calls["hmget"] > 21 || calls["zrangebyscore"] > 4 {
		t.Fatalf("a page of 20 not-live gigs ran %d HMGET and %d ZRANGEBYSCORE", calls["hmget"], calls["zrangebyscore"])
	}
}

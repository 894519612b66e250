package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/secret"
	"github.com/redis/go-redis/v9"
)

func adminClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newRedisStore(t *testing.T, url string, logBuf *bytes.Buffer) *RedisStore {
	t.Helper()
	return newRedisStoreWith(t, RedisConfig{URL: url}, logBuf)
}

func newRedisStoreWith(t *testing.T, cfg RedisConfig, logBuf *bytes.Buffer) *RedisStore {
	t.Helper()
	var log *slog.Logger
	if logBuf != nil {
		log = slog.New(slog.NewTextHandler(logBuf, nil))
	}
	s, err := NewRedis(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("new redis store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisContract(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	runContract(t, func(t *testing.T, o storeOptions) Store {
		if err := admin.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		s := newRedisStoreWith(t, RedisConfig{URL: srv.URL(), Now: o.now, EndedRetention: o.retention}, nil)
		t.Cleanup(func() { checkConsistentWith(t, admin, o.retention >= 0) })
		return s
	})
}

// snapshotScript reads every bmg: key (with its TTL in ms, -1 for none) in
// one atomic step, so a consistency check never sees half of a transaction
// that lands while it runs.
const snapshotScript = `
local out = {}
for _, k in ipairs(redis.call('KEYS', 'bmg:*')) do
  local t = redis.call('TYPE', k)['ok']
  local ttl = redis.call('PTTL', k)
  if t == 'hash' then table.insert(out, {k, t, redis.call('HGETALL', k), ttl})
  elseif t == 'zset' then table.insert(out, {k, t, redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'), ttl})
  else table.insert(out, {k, t, {redis.call('GET', k)}, ttl}) end
end
return out`

// checkConsistent asserts the invariants every committed state keeps: each
// gig hash is complete and indexed exactly where its fields say (status,
// category and status, ended_at), an ended gig's hash and stream key expire
// together and no other gig's do, and every index entry and stream-key
// lookup points at a gig, except the entries of an expired gig that
// SweepExpired has not reached yet (still in ended_at). It returns the
// number of gigs.
func checkConsistent(t *testing.T, admin *redis.Client) int {
	t.Helper()
	return checkConsistentWith(t, admin, true)
}

// checkConsistentWith is checkConsistent for a store whose ended gigs
// expire (expiring) or are kept forever.
func checkConsistentWith(t *testing.T, admin *redis.Client, expiring bool) int {
	t.Helper()
	raw, err := admin.Eval(context.Background(), snapshotScript, nil).Slice()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	gigs := map[string]redisGig{}
	ttls := map[string]int64{}
	zsets := map[string]map[string]string{}
	lookups := map[string]string{}
	for _, e := range raw {
		entry := e.([]any)
		key, typ, vals := entry[0].(string), entry[1].(string), entry[2].([]any)
		ttls[key] = entry[3].(int64)
		switch {
		case typ == "hash" && strings.HasPrefix(key, keyGigPrefix):
			m := map[string]string{}
			for i := 0; i+1 < len(vals); i += 2 {
				m[vals[i].(string)] = vals[i+1].(string)
			}
			rg, err := decodeGig(m)
			if err != nil || gigKey(rg.gig.ID) != key || len(rg.manageHash) != 64 || len(rg.streamKeyHash) != 64 {
				t.Fatalf("half-written or corrupt gig %s: %v %v", key, m, err)
			}
			gigs[rg.gig.ID] = rg
		case typ == "zset":
			z := map[string]string{}
			for i := 0; i+1 < len(vals); i += 2 {
				z[vals[i].(string)] = vals[i+1].(string)
			}
			zsets[key] = z
		case typ == "string" && strings.HasPrefix(key, keyStreamKeyPrefix):
			lookups[strings.TrimPrefix(key, keyStreamKeyPrefix)] = vals[0].(string)
		case typ == "string" && key == keyIndexVersion:
			if vals[0] != indexVersion {
				t.Fatalf("index version %v", vals[0])
			}
		default:
			t.Fatalf("unexpected key %s of type %s", key, typ)
		}
	}
	for id, rg := range gigs {
		g := rg.gig
		score := strconv.FormatInt(g.StartsAt.Unix(), 10)
		if zsets[keyByStart][id] != score {
			t.Fatalf("gig %s: by_start score %q, want %s", id, zsets[keyByStart][id], score)
		}
		for _, st := range Statuses() {
			_, in := zsets[statusKey(st)][id]
			if in != (st == g.Status) {
				t.Fatalf("gig %s (%s): in status index %s = %v", id, g.Status, st, in)
			}
			for _, c := range Categories() {
				sc, in := zsets[categoryKey(c, st)][id]
				if want := st == g.Status && c == g.Category; in != want || (in && sc != score) {
					t.Fatalf("gig %s (%s %s): in index %s = %v (score %s)", id, g.Category, g.Status, categoryKey(c, st), in, sc)
				}
			}
		}
		endedScore, inEnded := zsets[keyEndedAt][id]
		ended := g.Status == StatusEnded
		if inEnded != ended || (ended && endedScore != strconv.FormatInt(g.EndedAt.UnixMilli(), 10)) {
			t.Fatalf("gig %s (%s, ended %v): ended_at index %v %q", id, g.Status, g.EndedAt, inEnded, endedScore)
		}
		if lookups[rg.streamKeyHash] != id {
			t.Fatalf("gig %s: stream-key lookup missing", id)
		}
		hashTTL, keyTTL := ttls[gigKey(id)], ttls[streamKeyKey(rg.streamKeyHash)]
		if wantTTL := ended && expiring; wantTTL != (hashTTL > 0) || wantTTL != (keyTTL > 0) {
			t.Fatalf("gig %s (%s): hash TTL %d ms, stream key TTL %d ms", id, g.Status, hashTTL, keyTTL)
		}
	}
	for key, z := range zsets {
		if key == keyLiveLeases {
			continue
		}
		for id := range z {
			if _, ok := gigs[id]; !ok {
				if _, expired := zsets[keyEndedAt][id]; !expired {
					t.Fatalf("index %s holds %s, which has no hash", key, id)
				}
			}
		}
	}
	for h, id := range lookups {
		if rg, ok := gigs[id]; !ok || rg.streamKeyHash != h {
			t.Fatalf("dangling stream-key lookup for %s", id)
		}
	}
	return len(gigs)
}

func TestRedisKeyLayoutHoldsNoSecrets(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	s := newRedisStore(t, srv.URL(), nil)
	ctx := context.Background()
	g, sec, err := s.Create(ctx, validInput())
	if err != nil {
		t.Fatal(err)
	}
	m, _ := admin.HGetAll(ctx, "bmg:gig:"+g.ID).Result()
	if m["title"] != g.Title || m["manage_token_sha256"] != secret.Hash(sec.ManageToken) {
		t.Fatalf("gig hash: %v", m)
	}
	if id, _ := admin.Get(ctx, "bmg:streamkey:"+secret.Hash(sec.StreamKey)).Result(); id != g.ID {
		t.Fatalf("stream-key lookup holds %q", id)
	}
	for _, key := range []string{"bmg:gigs:by_start", "bmg:gigs:status:scheduled"} {
		if n, _ := admin.ZCard(ctx, key).Result(); n != 1 {
			t.Fatalf("%s has %d members", key, n)
		}
	}
	dump, _ := admin.Eval(ctx, snapshotScript, nil).Slice()
	if s := fmt.Sprint(dump); strings.Contains(s, sec.StreamKey) || strings.Contains(s, sec.ManageToken) {
		t.Fatal("a secret is stored in plain text")
	}
}

// TestRedisOutage stops Redis under a running store: every call must fail
// with ErrUnavailable fast, and the store must recover once Redis is back.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	s := newRedisStore(t, srv.URL(), &logs)
	ctx := context.Background()
	g, sec, err := s.Create(ctx, validInput())
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for name, call := range storeCalls(s, g.ID, sec) {
		start := time.Now()
		err := call()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s with Redis down: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("%s took %v with Redis down, want about a second at most", name, d)
		}
	}
	srv.Restart(t)
	waitPing(t, s)
	if _, _, err := s.Create(ctx, validInput()); err != nil {
		t.Fatalf("create after Redis returned: %v", err)
	}
	if !strings.Contains(logs.String(), "redis unavailable") || !strings.Contains(logs.String(), "redis reachable again") {
		t.Fatalf("outage not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), sec.ManageToken) || strings.Contains(logs.String(), sec.StreamKey) {
		t.Fatal("secret in logs")
	}
}

// TestRedisFrozen points the store at a Redis that stops answering without
// closing connections: calls must time out into ErrUnavailable, not hang.
func TestRedisFrozen(t *testing.T) {
	srv := redistest.Start(t)
	proxy := newFaultProxy(t, srv.Addr)
	s := newRedisStore(t, proxy.url(), nil)
	ctx := context.Background()
	g, sec, err := s.Create(ctx, validInput())
	if err != nil {
		t.Fatal(err)
	}
	proxy.frozen.Store(true)
	for _, name := range []string{"get", "list", "create", "update"} {
		start := time.Now()
		err := storeCalls(s, g.ID, sec)[name]()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s on frozen Redis: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("%s took %v on frozen Redis", name, d)
		}
	}
	proxy.frozen.Store(false)
	proxy.cutAll()
	waitPing(t, s)
	if _, err := s.Get(ctx, g.ID); err != nil {
		t.Fatalf("get after thaw: %v", err)
	}
}

func TestNewRedisUnreachable(t *testing.T) {
	port := redistest.FreePort(t)
	start := time.Now()
	_, err := NewRedis(context.Background(), RedisConfig{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}, nil)
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("unreachable redis: %v after %v", err, time.Since(start))
	}
	if _, err := NewRedis(context.Background(), RedisConfig{URL: "http://nope"}, nil); err == nil {
		t.Fatal("bad URL accepted")
	}
}

func waitPing(t *testing.T, s Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("store did not recover after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storeCalls is one call of each store method, for outage tests.
func storeCalls(s Store, id string, sec Secrets) map[string]func() error {
	ctx := context.Background()
	title := "changed"
	return map[string]func() error{
		"get":     func() error { _, err := s.Get(ctx, id); return err },
		"list":    func() error { _, err := s.List(ctx, Filter{}); return err },
		"create":  func() error { _, _, err := s.Create(ctx, validInput()); return err },
		"update":  func() error { _, err := s.Update(ctx, id, Patch{Title: &title}); return err },
		"delete":  func() error { return s.Delete(ctx, id) },
		"rotate":  func() error { _, err := s.RotateStreamKey(ctx, id); return err },
		"check":   func() error { return s.CheckManageToken(ctx, id, sec.ManageToken) },
		"resolve": func() error { _, err := s.ResolveStreamKey(ctx, sec.StreamKey); return err },
		"status":  func() error { return s.SetStatus(ctx, id, StatusLive, testBase) },
		"ping":    func() error { return s.Ping(ctx) },
	}
}

// TestRedisAtomicWrites cuts the connection after every possible number of
// bytes of each multi-key write and checks that Redis never holds a
// half-written gig.
func TestRedisAtomicWrites(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	proxy := newFaultProxy(t, srv.Addr)
	ctx := context.Background()
	title := "patched"
	ops := []struct {
		name string
		run  func(s Store, id string) error
	}{
		{"create", func(s Store, _ string) error { _, _, err := s.Create(ctx, validInput()); return err }},
		{"update", func(s Store, id string) error {
			st, en := testBase.Add(time.Hour).Format(time.RFC3339), testBase.Add(2*time.Hour).Format(time.RFC3339)
			_, err := s.Update(ctx, id, Patch{Title: &title, StartsAt: &st, EndsAt: &en})
			return err
		}},
		{"delete", func(s Store, id string) error { return s.Delete(ctx, id) }},
		{"rotate", func(s Store, id string) error { _, err := s.RotateStreamKey(ctx, id); return err }},
		{"status", func(s Store, id string) error { return s.SetStatus(ctx, id, StatusLive, testBase) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			// Measure how many bytes the write sends when nothing fails.
			proxy.budget.Store(-1)
			s := newRedisStore(t, proxy.url(), nil)
			g, _ := mustCreate(t, s, validInput())
			before := proxy.forwarded.Load()
			if err := op.run(s, g.ID); err != nil {
				t.Fatal(err)
			}
			total := proxy.forwarded.Load() - before
			_ = s.Close()
			cuts := 0
			// About 30 cut points spread over the write, plus each of its last
			// bytes (where MULTI has been queued and only EXEC is missing).
			step := max(total/24, 1)
			for k := int64(0); k <= total; k++ {
				if k%step != 0 && total-k > 6 {
					continue
				}
				proxy.budget.Store(-1)
				s := newRedisStore(t, proxy.url(), nil)
				g, _ := mustCreate(t, s, validInput())
				proxy.budget.Store(k)
				if err := op.run(s, g.ID); err != nil {
					if !errors.Is(err, ErrUnavailable) {
						t.Fatalf("cut after %d bytes: %v, want ErrUnavailable", k, err)
					}
					cuts++
				}
				_ = s.Close()
				checkConsistent(t, admin)
			}
			if cuts == 0 {
				t.Fatal("no write was cut: the proxy is not in the path")
			}
			t.Logf("%s: %d bytes, %d cut writes, Redis consistent after each", op.name, total, cuts)
		})
	}
}

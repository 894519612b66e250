package chat

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// cluster is two nodes sharing one broker backend.
type cluster struct {
	a, b *node
	// redis is set for the Redis backend.
	redis *redistest.Server
	rdbB  *redis.Client
	brkB  *RedisBroker
}

type backend struct {
	name string
	new  func(t *testing.T, cfgA, cfgB Config) *cluster
}

var backends = []backend{
	{"memory", func(t *testing.T, cfgA, cfgB Config) *cluster {
		m := NewMemoryBroker()
		cfgA.NodeID, cfgB.NodeID = "node-a", "node-b"
		sharedKey(&cfgA, &cfgB)
		return &cluster{a: newNode(t, cfgA, m), b: newNode(t, cfgB, m)}
	}},
	{"redis", func(t *testing.T, cfgA, cfgB Config) *cluster {
		return redisCluster(t, redistest.Start(t), cfgA, cfgB)
	}},
}

// redisCluster is two nodes on srv, each with its own Redis client.
func redisCluster(t *testing.T, srv *redistest.Server, cfgA, cfgB Config) *cluster {
	cfgA.NodeID, cfgB.NodeID = "node-a", "node-b"
	sharedKey(&cfgA, &cfgB)
	a := newNode(t, cfgA, newRedisBroker(t, srv.Addr))
	rdbB := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 500 * time.Millisecond, MaxRetries: 1})
	brkB, err := NewRedisBroker(RedisBrokerConfig{Client: rdbB}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = brkB.Close(); _ = rdbB.Close() })
	return &cluster{a: a, b: newNode(t, cfgB, brkB), redis: srv, rdbB: rdbB, brkB: brkB}
}

// clusterKey is the guest key both nodes of a test cluster share, as
// SharedGuestKey gives every node of a deployment the same one.
var clusterKey = []byte("bmg-test-cluster-guest-key-32-bytes!")

func sharedKey(a, b *Config) {
	if a.GuestKey == nil && b.GuestKey == nil {
		a.GuestKey, b.GuestKey = clusterKey, clusterKey
	}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, newCluster func(cfgA, cfgB Config) *cluster)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			fn(t, func(cfgA, cfgB Config) *cluster { return be.new(t, cfgA, cfgB) })
		})
	}
}

// collect reads n chat messages from c, failing on duplicates.
func collect(t *testing.T, c *wsClient, n int) []map[string]any {
	t.Helper()
	out := make([]map[string]any, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		m := c.skipTo("message")
		id := m["id"].(string)
		if seen[id] {
			t.Fatalf("message %s (%v) delivered twice", id, m["text"])
		}
		seen[id] = true
		out = append(out, m)
	}
	return out
}

func TestClusterMessagesExactlyOnceInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCluster func(cfgA, cfgB Config) *cluster) {
		cfg := testConfig()
		cfg.RateBurst = 1000
		cl := newCluster(cfg, cfg)
		clients := []*wsClient{dial(t, cl.a, "gig"), dial(t, cl.a, "gig"), dial(t, cl.b, "gig"), dial(t, cl.b, "gig")}
		for i, c := range clients {
			c.join(fmt.Sprintf("c%d", i))
		}
		const per = 25
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range per {
					c.say(fmt.Sprintf("%d:%d", i, j))
				}
			}()
		}
		wg.Wait()
		total := per * len(clients)
		for ci, c := range clients {
			msgs := collect(t, c, total)
			next := map[string]int{}
			for _, m := range msgs {
				var sender, seq int
				fmt.Sscanf(m["text"].(string), "%d:%d", &sender, &seq)
				key := m["user"].(string)
				if seq != next[key] {
					t.Fatalf("client %d: sender %d message %d arrived after %d: per-sender order broken", ci, sender, seq, next[key]-1)
				}
				next[key]++
			}
			c.quiet("message", 100*time.Millisecond)
		}
		// History on join, on either node, holds every message once.
		waitFor(t, 3*time.Second, "history", func() bool {
			h, _ := cl.b.hub.broker.History(context.Background(), "gig", 100)
			return len(h) == total
		})
		late := dial(t, cl.b, "gig")
		h := late.join("late")
		if len(h) != total {
			t.Fatalf("late joiner got %d history messages, want %d", len(h), total)
		}
	})
}

func TestClusterModeration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCluster func(cfgA, cfgB Config) *cluster) {
		cfg := testConfig()
		cfg.Authorize = func(ctx context.Context, gig, token string) error {
			if token != "manage" {
				return fmt.Errorf("no")
			}
			return nil
		}
		cl := newCluster(cfg, cfg)
		mod := dial(t, cl.a, "gig")
		mod.join("Creator", "token", "manage")
		v := dial(t, cl.b, "gig")
		v.join("Vic")
		w := dial(t, cl.b, "gig")
		w.join("Wes")

		v.say("to delete")
		id := mod.skipTo("message")["id"].(string)
		mod.send(map[string]any{"type": "delete", "id": id})
		for _, c := range []*wsClient{mod, v, w} {
			if d := c.skipTo("deleted"); d["id"] != id {
				t.Fatalf("deleted %v", d)
			}
		}
		waitFor(t, 3*time.Second, "history delete on both nodes", func() bool {
			ha, _ := cl.a.hub.broker.History(context.Background(), "gig", 100)
			hb, _ := cl.b.hub.broker.History(context.Background(), "gig", 100)
			return len(ha) == 0 && len(hb) == 0
		})

		mod.send(map[string]any{"type": "mute", "user": v.user, "seconds": 60})
		for v.skipTo("moderation")["action"] != "mute" {
		}
		v.say("muted")
		if e := v.skipTo("error"); e["code"] != codeMuted {
			t.Fatalf("muted on other node: %v", e)
		}

		mod.send(map[string]any{"type": "slow", "seconds": 60})
		for w.skipTo("moderation")["action"] != "slow" {
		}
		w.say("first")
		w.skipTo("message")
		w.say("second")
		if e := w.skipTo("error"); e["code"] != codeSlowMode {
			t.Fatalf("slow mode on other node: %v", e)
		}
		// A room opened later on a node still enforces stored state.
		late := dial(t, cl.a, "gig2")
		late.join("L")
		_ = cl.b.hub.SetSlowMode("gig2", 0)

		mod.send(map[string]any{"type": "ban", "user": v.user})
		if e := v.skipTo("error"); e["code"] != codeBanned {
			t.Fatalf("ban on other node: %v", e)
		}
		v.expectClosed()
		// Only node B knew v's address; it tells node A.
		waitFor(t, 3*time.Second, "address ban relayed", func() bool {
			r := cl.a.hub.roomOf("gig")
			r.mu.Lock()
			defer r.mu.Unlock()
			return len(r.bannedAddrs) == 1
		})
		// The address is banned on both nodes (all test clients share 127.0.0.1).
		for _, n := range []*node{cl.a, cl.b} {
			again := dial(t, n, "gig")
			again.send(`{"type":"join","name":"Vic again"}`)
			if e := again.skipTo("error"); e["code"] != codeBanned {
				t.Fatalf("rejoin on %s: %v", n.hub.NodeID(), e)
			}
			again.expectClosed()
		}
		// The creator is never caught by an address ban.
		mod2 := dial(t, cl.b, "gig")
		mod2.join("Creator 2", "token", "manage")
	})
}

func TestClusterViewers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCluster func(cfgA, cfgB Config) *cluster) {
		cfgA, mediaA := withMedia(testConfig())
		cfgB, mediaB := withMedia(testConfig())
		cl := newCluster(cfgA, cfgB)
		a1, a2, b1 := dial(t, cl.a, "gig"), dial(t, cl.a, "gig"), dial(t, cl.b, "gig")
		a1.join("a1")
		a2.join("a2")
		b1.join("b1")
		release := mediaB.add("gig", "flv")
		defer release()
		_ = mediaA.add("other-gig", "webrtc")
		for _, c := range []*wsClient{a1, a2, b1} {
			c.waitPresence(4)
		}
		waitFor(t, 3*time.Second, "Viewers on both nodes", func() bool {
			return cl.a.hub.Viewers("gig") == 4 && cl.b.hub.Viewers("gig") == 4
		})
		_ = a2.conn.Close()
		for _, c := range []*wsClient{a1, b1} {
			c.waitPresence(3)
		}
		// A node that shuts down cleanly removes its viewers at once.
		_ = cl.b.hub.Close()
		a1.waitPresence(1)
	})
}

// TestClusterCrashedNodeDropsOut: a node that stops heartbeating (its Redis
// connection dies without any cleanup) leaves the count within PresenceTTL.
func TestClusterCrashedNodeDropsOut(t *testing.T) {
	cfgB, mediaB := withMedia(testConfig())
	cl := backends[1].new(t, testConfig(), cfgB)
	a := dial(t, cl.a, "gig")
	a.join("a")
	b := dial(t, cl.b, "gig")
	b.join("b")
	_ = mediaB.add("gig", "webrtc")
	a.waitPresence(3)
	// Crash: node B's Redis client goes away; its hub never says goodbye.
	_ = cl.brkB.Close()
	_ = cl.rdbB.Close()
	start := time.Now()
	a.waitPresence(1)
	took := time.Since(start)
	if ttl := testConfig().PresenceTTL; took > ttl+time.Second {
		t.Fatalf("crashed node dropped out after %s, TTL is %s", took, ttl)
	}
	t.Logf("crashed node's viewers dropped out after %s (TTL %s)", took.Round(10*time.Millisecond), testConfig().PresenceTTL)
	if v := cl.a.hub.Viewers("gig"); v != 1 {
		t.Fatalf("Viewers = %d after crash, want 1", v)
	}
}

// TestClusterRedisOutage: with Redis killed, chat keeps working within each
// node; after a restart the relay resumes by itself and the outage is
// logged once, not per message.
func TestClusterRedisOutage(t *testing.T) {
	cfg := testConfig()
	cfg.RateBurst = 1000
	cfg.BrokerTimeout = 300 * time.Millisecond
	cl := backends[1].new(t, cfg, cfg)
	a, a2, b := dial(t, cl.a, "gig"), dial(t, cl.a, "gig"), dial(t, cl.b, "gig")
	a.join("a")
	a2.join("a2")
	b.join("b")
	a.say("before")
	b.skipTo("message")
	a2.skipTo("message")

	cl.redis.Stop()
	for i := range 20 {
		a.say(fmt.Sprintf("outage %d", i))
	}
	for i := range 20 {
		if m := a2.skipTo("message"); m["text"] != fmt.Sprintf("outage %d", i) {
			t.Fatalf("local delivery during outage: %v", m)
		}
	}
	b.say("local on b")
	if m := b.skipTo("message"); m["text"] != "local on b" {
		t.Fatalf("b during outage got %v", m)
	}
	waitFor(t, 3*time.Second, "outage logged", func() bool {
		return cl.a.log.count("chat relay to other nodes is down") == 1
	})

	cl.redis.Restart(t)
	// Probe until node B hears node A again, then check exact delivery both ways.
	heard := false
	for i := 0; i < 100 && !heard; i++ {
		a.say(fmt.Sprintf("probe %d", i))
		deadline := time.After(200 * time.Millisecond)
	wait:
		for {
			select {
			case m := <-b.frames:
				if m["type"] == "message" {
					heard = true
					break wait
				}
			case <-deadline:
				break wait
			}
		}
	}
	if !heard {
		t.Fatal("relay did not resume within 20 s of Redis restarting")
	}
	for dir, pair := range [][2]*wsClient{{a, b}, {b, a}} {
		want := fmt.Sprintf("after restart %d", dir)
		var got map[string]any
		waitFor(t, 10*time.Second, "relay both ways", func() bool {
			pair[0].say(want)
			deadline := time.After(300 * time.Millisecond)
			for {
				select {
				case m := <-pair[1].frames:
					if m["type"] == "message" && m["text"] == want {
						got = m
						return true
					}
				case <-deadline:
					return false
				}
			}
		})
		_ = got
	}
	for _, n := range []*node{cl.a, cl.b} {
		if c := n.log.count("chat relay to other nodes is down"); c > 1 {
			t.Fatalf("%s logged the relay outage %d times", n.hub.NodeID(), c)
		}
	}
	waitFor(t, 5*time.Second, "recovery logged", func() bool {
		return cl.a.log.count("chat relay to other nodes restored") == 1
	})
}

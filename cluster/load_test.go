package cluster

import (
	"testing"
	"time"
)

// TestLoad: published loads make nodes live until LoadTTL passes without a
// new one, and LeastLoaded picks another node by viewers, CPU, id.
func TestLoad(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	const ttl = 300 * time.Millisecond
	cfg := Config{LoadTTL: ttl}
	a, b, c, e := newNode(rdb, "a", cfg), newNode(rdb, "b", cfg), newNode(rdb, "c", cfg), newNode(rdb, "e", cfg)

	if _, ok, err := a.LeastLoaded(ctx, 0); err != nil || ok {
		t.Fatalf("LeastLoaded of an empty cluster: %v %v", ok, err)
	}
	mustDo(t, c.PublishLoad(ctx, Load{Viewers: 5, CPU: 0.2, EgressBps: 1e6}))
	mustDo(t, b.PublishLoad(ctx, Load{Viewers: 5, CPU: 0.2}))
	mustDo(t, e.PublishLoad(ctx, Load{Viewers: 5, CPU: 0.1}))
	mustDo(t, a.PublishLoad(ctx, Load{Viewers: 0}))

	nodes := must[[]NodeStatus](t)(a.Nodes(ctx))
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	if len(ids) != 4 || ids[0] != "a" || ids[1] != "b" || ids[2] != "c" || ids[3] != "e" {
		t.Fatalf("Nodes = %v, want a b c e", ids)
	}
	if n := nodes[2]; n.Viewers != 5 || n.CPU != 0.2 || n.EgressBps != 1e6 || n.RelayURL != c.RelayURL() || n.PublicURL != c.PublicURL() || time.Since(n.Updated) > time.Minute {
		t.Fatalf("c's status: %+v", n)
	}

	for _, tc := range []struct {
		name       string
		maxViewers int
		want       string // "" = none
	}{
		// a itself (0 viewers) is never picked; e has the least CPU of the 5s.
		{"any", 0, "e"},
		{"room for more", 6, "e"},
		{"all full", 5, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok, err := a.LeastLoaded(ctx, tc.maxViewers)
			mustDo(t, err)
			if got := map[bool]string{true: n.ID}[ok]; got != tc.want {
				t.Fatalf("LeastLoaded(%d) = %q, want %q", tc.maxViewers, got, tc.want)
			}
		})
	}
	// Ties on viewers and CPU go to the lower id.
	mustDo(t, e.PublishLoad(ctx, Load{Viewers: 5, CPU: 0.2}))
	if n, _, _ := a.LeastLoaded(ctx, 0); n.ID != "b" {
		t.Fatalf("LeastLoaded on a tie = %q, want b", n.ID)
	}

	// c and e stop publishing: gone after the TTL, and from the index.
	for range 4 {
		time.Sleep(ttl / 3)
		mustDo(t, a.PublishLoad(ctx, Load{}))
		mustDo(t, b.PublishLoad(ctx, Load{Viewers: 9}))
	}
	nodes = must[[]NodeStatus](t)(a.Nodes(ctx))
	if len(nodes) != 2 || nodes[0].ID != "a" || nodes[1].ID != "b" || nodes[1].Viewers != 9 {
		t.Fatalf("Nodes after c and e went quiet: %+v", nodes)
	}
	if n := rdb.ZCard(ctx, keyNodes).Val(); n != 2 {
		t.Fatalf("nodes index keeps %d members, want 2", n)
	}
	if n, ok, _ := a.LeastLoaded(ctx, 0); !ok || n.ID != "b" {
		t.Fatalf("LeastLoaded after expiry = %q %v, want b", n.ID, ok)
	}
}

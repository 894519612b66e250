package cluster

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestChooseUpstreamNoOrigin: nothing to pull without an origin, and the
// origin pulls from nobody.
func TestChooseUpstreamNoOrigin(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	o, a := newNode(rdb, "o", Config{}), newNode(rdb, "a", Config{})
	if _, err := a.ChooseUpstream(ctx, "g"); !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("ChooseUpstream without origin: %v, want ErrNoOrigin", err)
	}
	mustDo(t, o.ClaimOrigin(ctx, "g"))
	if _, err := o.ChooseUpstream(ctx, "g"); !errors.Is(err, ErrSelfOrigin) {
		t.Fatalf("ChooseUpstream by the origin: %v, want ErrSelfOrigin", err)
	}
	up, err := a.ChooseUpstream(ctx, "g")
	mustDo(t, err)
	if up.Node != "o" || up.RelayURL != o.RelayURL() || up.Depth != 1 {
		t.Fatalf("upstream = %+v, want o at depth 1", up)
	}
	// Releasing the origin drops the tree with it.
	mustDo(t, o.ReleaseOrigin(ctx, "g"))
	if _, err := a.ChooseUpstream(ctx, "g"); !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("ChooseUpstream after release: %v, want ErrNoOrigin", err)
	}
	if n := rdb.Exists(ctx, relaysKey("g"), relaysExpKey("g")).Val(); n != 0 {
		t.Fatalf("%d relay tree keys left after release", n)
	}
}

// TestRelayTreeFanout: with fanout 2, seven nodes joining one after the
// other fill the origin, then level 1 evenly, then level 2.
func TestRelayTreeFanout(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	cfg := Config{Fanout: 2}
	o := newNode(rdb, "o", cfg)
	mustDo(t, o.ClaimOrigin(ctx, "g"))
	want := []struct {
		node, parent string
		depth        int
	}{
		{"n1", "o", 1}, {"n2", "o", 1},
		{"n3", "n1", 2}, {"n4", "n2", 2}, {"n5", "n1", 2}, {"n6", "n2", 2},
		{"n7", "n3", 3},
	}
	nodes := map[string]*Directory{"o": o}
	for _, w := range want {
		d := newNode(rdb, w.node, cfg)
		nodes[w.node] = d
		up, err := d.ChooseUpstream(ctx, "g")
		mustDo(t, err)
		if up.Node != w.parent || up.Depth != w.depth || up.RelayURL != "http://"+w.parent+".relay:8080" {
			t.Fatalf("%s got upstream %+v, want %s at depth %d", w.node, up, w.parent, w.depth)
		}
	}
	for id, wantKids := range map[string]int{"o": 2, "n1": 2, "n2": 2, "n3": 1, "n4": 0, "n7": 0} {
		if got := must[int](t)(nodes[id].Children(ctx, "g")); got != wantKids {
			t.Errorf("Children of %s = %d, want %d", id, got, wantKids)
		}
	}
	tr := treeOf(t, ctx, o, "g")
	if tr.Origin != "o" || len(tr.Relays) != 7 {
		t.Fatalf("Tree = %+v", tr)
	}
	depth := checkTree(t, tr, 2)
	for _, w := range want {
		if depth[w.node] != w.depth {
			t.Errorf("Tree depth of %s = %d, want %d", w.node, depth[w.node], w.depth)
		}
	}

	// n1 leaves: its children keep their edges until they choose again;
	// the next node takes n1's place under the origin.
	mustDo(t, nodes["n1"].DropRelay(ctx, "g"))
	up := must[Upstream](t)(newNode(rdb, "n8", cfg).ChooseUpstream(ctx, "g"))
	if up.Node != "o" {
		t.Fatalf("after n1 left, n8 got %+v, want the origin", up)
	}
	// n1 choosing again must not land below itself (n3, n5, n7).
	up = must[Upstream](t)(nodes["n1"].ChooseUpstream(ctx, "g"))
	if up.Node == "n3" || up.Node == "n5" || up.Node == "n7" {
		t.Fatalf("n1 chose its own descendant %s", up.Node)
	}
	checkTree(t, treeOf(t, ctx, o, "g"), 2)
}

// TestChooseUpstreamConcurrent: nodes choosing at the same time never give
// a node more than Fanout children, and the edges stay a tree.
func TestChooseUpstreamConcurrent(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	cfg := Config{Fanout: 2}
	o := newNode(rdb, "o", cfg)
	mustDo(t, o.ClaimOrigin(ctx, "g"))
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 10 {
		d := newNode(rdb, fmt.Sprintf("n%02d", i), cfg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each chooses three times, as a relay whose pull keeps
			// ending would.
			for range 3 {
				if _, err := d.ChooseUpstream(ctx, "g"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	tr := treeOf(t, ctx, o, "g")
	if len(tr.Relays) != 10 {
		t.Fatalf("Tree has %d edges, want 10: %+v", len(tr.Relays), tr)
	}
	depth := checkTree(t, tr, 2)
	if len(depth) != 10 {
		t.Fatalf("depths of %d nodes, want 10", len(depth))
	}
	if n := must[int](t)(o.Children(ctx, "g")); n != 2 {
		t.Fatalf("origin has %d children, want 2", n)
	}
}

// TestRelayExpiry: an edge not renewed within RelayTTL stops counting
// against its parent and leaves the tree; a renewed one stays; a renewal
// after expiry puts the edge back only while its upstream has room.
func TestRelayExpiry(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	const ttl = 300 * time.Millisecond
	cfg := Config{Fanout: 1, RelayTTL: ttl}
	o, a, b, c := newNode(rdb, "o", cfg), newNode(rdb, "a", cfg), newNode(rdb, "b", cfg), newNode(rdb, "c", cfg)
	mustDo(t, o.ClaimOrigin(ctx, "g"))

	if up := must[Upstream](t)(a.ChooseUpstream(ctx, "g")); up.Node != "o" {
		t.Fatalf("a upstream %+v", up)
	}
	if err := b.RenewRelay(ctx, "g"); !errors.Is(err, ErrNoRelay) {
		t.Fatalf("RenewRelay before any ChooseUpstream: %v, want ErrNoRelay", err)
	}
	// a renews: past the TTL its edge still fills the origin.
	for range 4 {
		time.Sleep(ttl / 3)
		mustDo(t, a.RenewRelay(ctx, "g"))
	}
	if up := must[Upstream](t)(b.ChooseUpstream(ctx, "g")); up.Node != "a" || up.Depth != 2 {
		t.Fatalf("b upstream %+v, want a at depth 2", up)
	}

	// Nobody renews: both edges expire.
	time.Sleep(ttl + 100*time.Millisecond)
	if n := must[int](t)(o.Children(ctx, "g")); n != 0 {
		t.Fatalf("origin has %d children after its child's edge expired", n)
	}
	if tr := treeOf(t, ctx, o, "g"); len(tr.Relays) != 0 {
		t.Fatalf("expired edges still in Tree: %+v", tr.Relays)
	}
	if up := must[Upstream](t)(c.ChooseUpstream(ctx, "g")); up.Node != "o" || up.Depth != 1 {
		t.Fatalf("c upstream %+v, want the origin", up)
	}
	// a's renewal comes late and the origin is full now (c): a must
	// choose again.
	if err := a.RenewRelay(ctx, "g"); !errors.Is(err, ErrNoRelay) {
		t.Fatalf("late RenewRelay under a full parent: %v, want ErrNoRelay", err)
	}
	// c's renewal is late too, but its place is free: the edge is put back.
	time.Sleep(ttl + 100*time.Millisecond)
	mustDo(t, c.RenewRelay(ctx, "g"))
	if n := must[int](t)(o.Children(ctx, "g")); n != 1 {
		t.Fatalf("origin has %d children after c's edge was put back, want 1", n)
	}
	mustDo(t, c.DropRelay(ctx, "g"))
	if n := must[int](t)(o.Children(ctx, "g")); n != 0 {
		t.Fatalf("origin has %d children after c dropped its edge", n)
	}
}

// TestNewOriginNewTree: when another node takes the gig over, the old
// tree (pulling from a node without the publisher) is discarded.
func TestNewOriginNewTree(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	cfg := Config{Fanout: 1}
	o, p, a := newNode(rdb, "o", cfg), newNode(rdb, "p", cfg), newNode(rdb, "a", cfg)
	mustDo(t, o.ClaimOrigin(ctx, "g"))
	must[Upstream](t)(a.ChooseUpstream(ctx, "g"))
	must[Upstream](t)(p.ChooseUpstream(ctx, "g"))
	mustDo(t, p.ClaimOrigin(ctx, "g"))
	if tr := treeOf(t, ctx, o, "g"); tr.Origin != "p" || len(tr.Relays) != 0 {
		t.Fatalf("Tree after p took over: %+v", tr)
	}
	if up := must[Upstream](t)(o.ChooseUpstream(ctx, "g")); up.Node != "p" {
		t.Fatalf("old origin o pulls from %+v, want p", up)
	}
}

package cluster

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// newRedis starts a redis-server for the test and returns a client to it.
func newRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	return clientOf(t, redistest.Start(t))
}

func clientOf(t *testing.T, srv *redistest.Server) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// newNode returns node id's directory with cfg's timings.
func newNode(rdb redis.UniversalClient, id string, cfg Config) *Directory {
	cfg.NodeID = id
	cfg.RelayURL = "http://" + id + ".relay:8080"
	cfg.PublicURL = "https://" + id + ".example.com"
	return New(rdb, cfg, slog.New(slog.DiscardHandler))
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// origin returns the gig's origin node id, "" if none.
func originOf(t *testing.T, ctx context.Context, d *Directory, gigID string) string {
	t.Helper()
	o, ok, err := d.Origin(ctx, gigID)
	mustDo(t, err)
	if !ok {
		return ""
	}
	return o.Node
}

// checkTree asserts that every relay edge of the gig leads to the origin
// without a cycle within maxDepth hops, that no node feeds more than
// fanout children, and returns each node's depth.
func checkTree(t *testing.T, tr GigTree, fanout int) map[string]int {
	t.Helper()
	parent := map[string]string{}
	kids := map[string]int{}
	for _, r := range tr.Relays {
		if _, dup := parent[r.Child]; dup {
			t.Fatalf("node %s has two edges", r.Child)
		}
		parent[r.Child] = r.Parent
		kids[r.Parent]++
	}
	for n, k := range kids {
		if k > fanout {
			t.Errorf("node %s feeds %d children, fanout is %d", n, k, fanout)
		}
	}
	depth := map[string]int{}
	for child := range parent {
		n, d := child, 0
		for n != tr.Origin {
			p, ok := parent[n]
			if !ok {
				t.Fatalf("node %s: ancestor %s does not lead to origin %s", child, n, tr.Origin)
			}
			n, d = p, d+1
			if d > maxDepth {
				t.Fatalf("node %s: cycle or chain deeper than %d", child, maxDepth)
			}
		}
		depth[child] = d
	}
	return depth
}

// treeOf returns the gig's tree from Tree, failing if it is missing.
func treeOf(t *testing.T, ctx context.Context, d *Directory, gigID string) GigTree {
	t.Helper()
	trees := must[[]GigTree](t)(d.Tree(ctx))
	for _, tr := range trees {
		if tr.GigID == gigID {
			return tr
		}
	}
	t.Fatalf("gig %s not in Tree %+v", gigID, trees)
	return GigTree{}
}

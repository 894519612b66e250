package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// publishLoad writes a node's status for ARGV[3] ms and prunes the nodes
// whose status expired from the index. KEYS[1] node status, KEYS[2] the
// nodes zset; ARGV[1] node id, ARGV[2] status JSON.
var publishLoad = redis.NewScript(luaNow + `
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], num(now + tonumber(ARGV[3])), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', num(now))
return 1`)

// PublishLoad records this node as alive with load for LoadTTL.
func (d *Directory) PublishLoad(ctx context.Context, load Load) error {
	b, err := json.Marshal(NodeStatus{
		ID:        d.cfg.NodeID,
		RelayURL:  d.cfg.RelayURL,
		PublicURL: d.cfg.PublicURL,
		Load:      load,
		Updated:   time.Now().UTC(),
	})
	if err == nil {
		err = publishLoad.Run(ctx, d.rdb, []string{nodeKey(d.cfg.NodeID), keyNodes},
			d.cfg.NodeID, string(b), ms(d.cfg.LoadTTL)).Err()
	}
	if err != nil {
		return fmt.Errorf("publish load: %w", err)
	}
	return nil
}

// Nodes returns the live nodes (this one included if it published),
// sorted by id.
func (d *Directory) Nodes(ctx context.Context) ([]NodeStatus, error) {
	ids, err := d.rdb.ZRange(ctx, keyNodes, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := d.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		gets[i] = pipe.Get(ctx, nodeKey(id))
	}
	// A node whose status expired since the index was pruned reads as
	// redis.Nil, which is not a failure: it is simply not live.
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	nodes := make([]NodeStatus, 0, len(ids))
	for i, g := range gets {
		raw, err := g.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		var n NodeStatus
		if err := json.Unmarshal(raw, &n); err != nil {
			d.log.Warn("bad node status", "peer", ids[i], "err", err)
			continue
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b NodeStatus) int { return cmp.Compare(a.ID, b.ID) })
	return nodes, nil
}

// LeastLoaded returns the live node, other than this one, with the fewest
// viewers (ties: less CPU, then lower id) among those with fewer than
// maxViewers viewers (any, if maxViewers <= 0); false if there is none.
func (d *Directory) LeastLoaded(ctx context.Context, maxViewers int) (NodeStatus, bool, error) {
	nodes, err := d.Nodes(ctx)
	if err != nil {
		return NodeStatus{}, false, err
	}
	var best NodeStatus
	found := false
	for _, n := range nodes {
		if n.ID == d.cfg.NodeID || (maxViewers > 0 && n.Viewers >= maxViewers) {
			continue
		}
		if !found || lessLoaded(n, best) {
			best, found = n, true
		}
	}
	return best, found, nil
}

func lessLoaded(a, b NodeStatus) bool {
	if a.Viewers != b.Viewers {
		return a.Viewers < b.Viewers
	}
	if a.CPU != b.CPU {
		return a.CPU < b.CPU
	}
	return a.ID < b.ID
}

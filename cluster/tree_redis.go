package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// gigTree reads a gig's origin and live edges, and forgets the gig in the
// origins set if its origin expired. KEYS[4] the origins set, ARGV[1] gig.
// Returns {} or {origin, child1, parent1, ...}.
var gigTree = redis.NewScript(luaNow + luaOwner + luaEdges + `
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SREM', KEYS[4], ARGV[1])
  return {}
end
local o = owner(raw)
if not o then return {} end
local info = live_edges(o.node)
local out = {o.node}
for child, e in pairs(info) do
  table.insert(out, child)
  table.insert(out, e.parent)
end
return out`)

// Tree returns every gig that has an origin, with its live relay edges,
// sorted by gig id and then child.
func (d *Directory) Tree(ctx context.Context) ([]GigTree, error) {
	gigs, err := d.rdb.SMembers(ctx, keyOrigins).Result()
	if err != nil {
		return nil, fmt.Errorf("relay tree: %w", err)
	}
	slices.Sort(gigs)
	trees := make([]GigTree, 0, len(gigs))
	for _, gigID := range gigs {
		out, err := gigTree.Run(ctx, d.rdb, append(relayKeys(gigID), keyOrigins), gigID).StringSlice()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("relay tree of gig %s: %w", gigID, err)
		}
		if len(out) == 0 || len(out)%2 != 1 {
			continue
		}
		t := GigTree{GigID: gigID, Origin: out[0], Relays: make([]Relay, 0, len(out)/2)}
		for i := 1; i+1 < len(out); i += 2 {
			t.Relays = append(t.Relays, Relay{Child: out[i], Parent: out[i+1]})
		}
		sortRelays(t.Relays)
		trees = append(trees, t)
	}
	return trees, nil
}

func sortRelays(r []Relay) {
	slices.SortFunc(r, func(a, b Relay) int { return cmp.Compare(a.Child, b.Child) })
}

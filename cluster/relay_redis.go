package cluster

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// luaEdges, after luaNow, defines live_edges(origin): it drops the gig's
// expired (or unreadable) relay edges and returns the live ones as
// info[child] = {parent, relay_url} and kids[parent] = {child...}. An edge
// out of the origin node itself is ignored: the origin pulls from nobody.
// Relay scripts: KEYS[1] origin, KEYS[2] relays hash, KEYS[3] expiries.
const luaEdges = `
local function live_edges(origin)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', num(now))
  for _, c in ipairs(expired) do redis.call('HDEL', KEYS[2], c) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', num(now)) end
  local info, kids = {}, {}
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local child = all[i]
    local ok, e = pcall(cjson.decode, all[i + 1])
    if not ok or type(e) ~= 'table' or type(e.parent) ~= 'string' or not redis.call('ZSCORE', KEYS[3], child) then
      redis.call('HDEL', KEYS[2], child)
      redis.call('ZREM', KEYS[3], child)
    elseif child ~= origin then
      info[child] = e
      kids[e.parent] = kids[e.parent] or {}
      table.insert(kids[e.parent], child)
    end
  end
  return info, kids
end

-- extend sets self's edge to expire at now + ttl. The two keys expire as
-- a whole no sooner than their newest edge.
local function extend(self, ttl)
  redis.call('ZADD', KEYS[3], num(now + ttl), self)
  for _, k in ipairs({KEYS[2], KEYS[3]}) do
    if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
  end
end

-- record puts the edge self -> parent, expiring at now + ttl.
local function record(self, url, parent, ttl)
  redis.call('HSET', KEYS[2], self, cjson.encode({parent = parent, relay_url = url}))
  extend(self, ttl)
end
`

// chooseUpstream picks this node's upstream and records the edge.
// ARGV[1] this node, ARGV[2] its relay URL, ARGV[3] fanout, ARGV[4]
// RelayTTL ms, ARGV[5] max depth. Returns {'ok', parent, url, depth} or
// {'no_origin'}, {'self_origin'}, {'full'}.
var chooseUpstream = redis.NewScript(luaNow + luaOwner + luaEdges + `
local o = owner(redis.call('GET', KEYS[1]))
if not o then return {'no_origin'} end
if o.node == ARGV[1] then return {'self_origin'} end
-- Our old edge goes first: it must not count against our old parent, and
-- with it gone our own subtree is unreachable from the origin, so we can
-- never pick ourselves or a descendant (no cycles).
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local info, kids = live_edges(o.node)
local fanout, maxdepth = tonumber(ARGV[3]), tonumber(ARGV[5])
local function count(n)
  local l = kids[n]
  if l then return #l end
  return 0
end
local pick, url, depth
if count(o.node) < fanout then
  pick, url, depth = o.node, o.relay_url, 1
else
  -- Breadth first: the shallowest level with room; in it the node with
  -- the fewest children (ties: lowest id), to spread the egress.
  local level, d, seen = kids[o.node] or {}, 1, {[o.node] = true}
  while #level > 0 and d < maxdepth and not pick do
    table.sort(level)
    local best, nextlevel = nil, {}
    for _, n in ipairs(level) do
      if not seen[n] then
        seen[n] = true
        local c = count(n)
        if c < fanout and (not best or c < count(best)) then best = n end
        for _, k in ipairs(kids[n] or {}) do table.insert(nextlevel, k) end
      end
    end
    if best then pick, url, depth = best, info[best].relay_url, d + 1 end
    level, d = nextlevel, d + 1
  end
end
if not pick then return {'full'} end
if type(url) ~= 'string' then url = '' end
record(ARGV[1], ARGV[2], pick, tonumber(ARGV[4]))
return {'ok', pick, url, depth}`)

// renewRelay extends this node's edge (1). If the edge is gone, it puts it
// back under the remembered parent ARGV[3] when that parent is still in
// the tree, not below us, and has room (2); else 0. ARGV[1] this node,
// ARGV[2] its relay URL, ARGV[4] RelayTTL ms, ARGV[5] max depth, ARGV[6]
// fanout.
var renewRelay = redis.NewScript(luaNow + luaOwner + luaEdges + `
local ttl = tonumber(ARGV[4])
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) > now and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  extend(ARGV[1], ttl)
  return 1
end
local o = owner(redis.call('GET', KEYS[1]))
if not o or o.node == ARGV[1] or ARGV[3] == '' then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local info, kids = live_edges(o.node)
local maxdepth = tonumber(ARGV[5])
local n, d = ARGV[3], 1
while n ~= o.node do
  if n == ARGV[1] or d > maxdepth or not info[n] then return 0 end
  n, d = info[n].parent, d + 1
end
if d > maxdepth then return 0 end
if kids[ARGV[3]] and #kids[ARGV[3]] >= tonumber(ARGV[6]) then return 0 end
record(ARGV[1], ARGV[2], ARGV[3], ttl)
return 2`)

// countChildren returns the number of live edges whose parent is ARGV[1].
var countChildren = redis.NewScript(luaNow + luaEdges + `
local _, kids = live_edges(nil)
local l = kids[ARGV[1]]
if l then return #l end
return 0`)

func relayKeys(gigID string) []string {
	return []string{originKey(gigID), relaysKey(gigID), relaysExpKey(gigID)}
}

// ChooseUpstream picks the node this node should pull the gig from and
// records the edge for RelayTTL, atomically, so that concurrent choosers
// never give a node more than Fanout children: the origin while it has
// room, else the shallowest relay of the gig with room, never this node
// nor one of its descendants. A previous edge of this node is replaced.
// Errors: ErrNoOrigin, ErrSelfOrigin, ErrTreeFull.
func (d *Directory) ChooseUpstream(ctx context.Context, gigID string) (Upstream, error) {
	res, err := chooseUpstream.Run(ctx, d.rdb, relayKeys(gigID),
		d.cfg.NodeID, d.cfg.RelayURL, d.cfg.Fanout, ms(d.cfg.RelayTTL), maxDepth).Slice()
	if err != nil {
		return Upstream{}, fmt.Errorf("choose upstream for gig %s: %w", gigID, err)
	}
	status, _ := res[0].(string)
	switch status {
	case "no_origin":
		return Upstream{}, fmt.Errorf("choose upstream for gig %s: %w", gigID, ErrNoOrigin)
	case "self_origin":
		return Upstream{}, fmt.Errorf("choose upstream for gig %s: %w", gigID, ErrSelfOrigin)
	case "full":
		return Upstream{}, fmt.Errorf("choose upstream for gig %s: %w", gigID, ErrTreeFull)
	case "ok":
	default:
		return Upstream{}, fmt.Errorf("choose upstream for gig %s: unexpected reply %v", gigID, res)
	}
	if len(res) != 4 {
		return Upstream{}, fmt.Errorf("choose upstream for gig %s: unexpected reply %v", gigID, res)
	}
	up := Upstream{}
	up.Node, _ = res[1].(string)
	up.RelayURL, _ = res[2].(string)
	depth, _ := res[3].(int64)
	up.Depth = int(depth)
	d.mu.Lock()
	d.parents[gigID] = up.Node
	d.mu.Unlock()
	d.log.Debug("relay upstream chosen", "gig", gigID, "upstream", up.Node, "depth", up.Depth)
	return up, nil
}

// RenewRelay extends this node's edge in the gig's relay tree. An edge
// that expired meanwhile is put back under the same upstream if that
// upstream is still in the tree and has room; otherwise ErrNoRelay, and
// the caller should ChooseUpstream again.
func (d *Directory) RenewRelay(ctx context.Context, gigID string) error {
	d.mu.Lock()
	parent := d.parents[gigID]
	d.mu.Unlock()
	r, err := renewRelay.Run(ctx, d.rdb, relayKeys(gigID),
		d.cfg.NodeID, d.cfg.RelayURL, parent, ms(d.cfg.RelayTTL), maxDepth, d.cfg.Fanout).Int()
	if err != nil {
		return fmt.Errorf("renew relay of gig %s: %w", gigID, err)
	}
	switch r {
	case 0:
		return fmt.Errorf("renew relay of gig %s: %w", gigID, ErrNoRelay)
	case 2:
		d.log.Warn("relay edge had expired; put back", "gig", gigID, "upstream", parent)
	}
	return nil
}

// DropRelay removes this node's edge from the gig's relay tree. Its
// children keep their edges to it until their pulls end and they choose
// again.
func (d *Directory) DropRelay(ctx context.Context, gigID string) error {
	d.mu.Lock()
	delete(d.parents, gigID)
	d.mu.Unlock()
	_, err := d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, relaysKey(gigID), d.cfg.NodeID)
		p.ZRem(ctx, relaysExpKey(gigID), d.cfg.NodeID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("drop relay of gig %s: %w", gigID, err)
	}
	return nil
}

// Children returns how many live relay edges of the gig pull from this
// node.
func (d *Directory) Children(ctx context.Context, gigID string) (int, error) {
	n, err := countChildren.Run(ctx, d.rdb, relayKeys(gigID), d.cfg.NodeID).Int()
	if err != nil {
		return 0, fmt.Errorf("children of gig %s: %w", gigID, err)
	}
	return n, nil
}

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// luaNow sets now to the Redis server's clock in unix milliseconds: one
// clock for every expiry score, whatever the nodes' clocks say.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(x) return string.format('%.0f', x) end
`

// luaOwner sets owner to the node named in an origin JSON, or nil.
const luaOwner = `
local function owner(raw)
  if not raw then return nil end
  local ok, o = pcall(cjson.decode, raw)
  if ok and type(o) == 'table' and type(o.node) == 'string' then return o end
  return nil
end
`

// Origin scripts: KEYS[1] origin, KEYS[2] relays, KEYS[3] relay expiries,
// KEYS[4] the origins set; ARGV[1] this node, ARGV[2] origin JSON,
// ARGV[3] OriginTTL ms, ARGV[4] gig id, ARGV[5] events channel.

// claimOrigin makes this node the origin, keeping since when it already
// was. A new owner starts a new relay tree (the old one pulled from a node
// that lost the publisher) and is announced. Returns 1 if the owner changed.
var claimOrigin = redis.NewScript(luaOwner + `
local o = owner(redis.call('GET', KEYS[1]))
redis.call('SADD', KEYS[4], ARGV[4])
if o and o.node == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[5], 'origin ' .. ARGV[4])
return 1`)

// renewOrigin extends the claim if it is still ours (1), re-creates it if
// it expired (2, announced), and leaves another node's claim alone (0).
var renewOrigin = redis.NewScript(luaOwner + `
local o = owner(redis.call('GET', KEYS[1]))
if not o then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[4])
  redis.call('PUBLISH', ARGV[5], 'origin ' .. ARGV[4])
  return 2
end
if o.node ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[4])
return 1`)

// releaseOrigin deletes the claim and the gig's relay tree if the claim is
// ours (1, announced); else it changes nothing (0).
var releaseOrigin = redis.NewScript(luaOwner + `
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SREM', KEYS[4], ARGV[4])
  return 0
end
local o = owner(raw)
if not o or o.node ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[4])
redis.call('PUBLISH', ARGV[5], 'origin ' .. ARGV[4])
return 1`)

func originKeys(gigID string) []string {
	return []string{originKey(gigID), relaysKey(gigID), relaysExpKey(gigID), keyOrigins}
}

func (d *Directory) originArgs(gigID string) ([]any, error) {
	b, err := json.Marshal(Origin{Node: d.cfg.NodeID, RelayURL: d.cfg.RelayURL, Since: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	return []any{d.cfg.NodeID, string(b), ms(d.cfg.OriginTTL), gigID, channelEvents}, nil
}

// ClaimOrigin makes this node the gig's origin for OriginTTL. The newest
// claim wins: the node that has the publisher now takes the gig over from
// any other node, whose relay tree is discarded. A change of owner is
// announced to WatchOrigins.
func (d *Directory) ClaimOrigin(ctx context.Context, gigID string) error {
	args, err := d.originArgs(gigID)
	if err != nil {
		return fmt.Errorf("claim origin of gig %s: %w", gigID, err)
	}
	changed, err := claimOrigin.Run(ctx, d.rdb, originKeys(gigID), args...).Int()
	if err != nil {
		return fmt.Errorf("claim origin of gig %s: %w", gigID, err)
	}
	if changed == 1 {
		d.log.Info("claimed gig origin", "gig", gigID)
	}
	return nil
}

// RenewOrigins extends the claims on gigIDs that are still this node's,
// and claims again those that expired (after a Redis outage, say). A gig
// another node has claimed meanwhile is left to it.
func (d *Directory) RenewOrigins(ctx context.Context, gigIDs []string) error {
	var errs []error
	for _, gigID := range gigIDs {
		args, err := d.originArgs(gigID)
		if err == nil {
			var r int
			r, err = renewOrigin.Run(ctx, d.rdb, originKeys(gigID), args...).Int()
			switch {
			case err != nil:
			case r == 0:
				d.log.Info("gig origin held by another node; not renewed", "gig", gigID)
			case r == 2:
				d.log.Warn("gig origin had expired; claimed again", "gig", gigID)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("renew origin of gig %s: %w", gigID, err))
		}
	}
	return errors.Join(errs...)
}

// ReleaseOrigin gives up the gig's origin and relay tree if this node
// holds them; if another node took the gig over it changes nothing.
func (d *Directory) ReleaseOrigin(ctx context.Context, gigID string) error {
	args, err := d.originArgs(gigID)
	if err != nil {
		return fmt.Errorf("release origin of gig %s: %w", gigID, err)
	}
	released, err := releaseOrigin.Run(ctx, d.rdb, originKeys(gigID), args...).Int()
	if err != nil {
		return fmt.Errorf("release origin of gig %s: %w", gigID, err)
	}
	if released == 1 {
		d.log.Info("released gig origin", "gig", gigID)
	}
	return nil
}

// Origin returns the gig's origin; false if the gig has none.
func (d *Directory) Origin(ctx context.Context, gigID string) (Origin, bool, error) {
	raw, err := d.rdb.Get(ctx, originKey(gigID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Origin{}, false, nil
	}
	if err != nil {
		return Origin{}, false, fmt.Errorf("origin of gig %s: %w", gigID, err)
	}
	var o Origin
	if err := json.Unmarshal(raw, &o); err != nil {
		return Origin{}, false, fmt.Errorf("origin of gig %s: %w", gigID, err)
	}
	return o, true, nil
}

package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyLiveLeases is a zset of live gig ids scored by the unix milliseconds
// until which the node publishing them vouches for them. A node renews the
// leases of its live streams while it runs; a crashed node stops renewing,
// and another node ends its gigs once the leases expire, so a gig never
// stays "live" because its node died.
const keyLiveLeases = "bmg:gigs:live_leases"

// claimExpired pops the leases that expired by ARGV[1] (unix ms), so that of
// several sweeping nodes exactly one ends each gig.
var claimExpired = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids`)

// RenewLiveLeases vouches for ids (gigs live on this node) until ttl from now.
func (s *RedisStore) RenewLiveLeases(ctx context.Context, ids []string, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	until := float64(s.now().Add(ttl).UnixMilli())
	zs := make([]redis.Z, len(ids))
	for i, id := range ids {
		zs[i] = redis.Z{Score: until, Member: id}
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	return s.fail(ctx, "renew live leases", s.rdb.ZAdd(octx, keyLiveLeases, zs...).Err())
}

// DropLiveLease forgets the lease of a gig that ended normally.
func (s *RedisStore) DropLiveLease(ctx context.Context, id string) error {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	return s.fail(ctx, "drop live lease", s.rdb.ZRem(octx, keyLiveLeases, id).Err())
}

// ClaimExpiredLiveLeases removes and returns the gigs whose lease ran out by
// now: their node stopped vouching for them (crashed or cut off). The caller
// ends them, unless a node renewed the lease in between (LiveLeased).
func (s *RedisStore) ClaimExpiredLiveLeases(ctx context.Context, now time.Time) ([]string, error) {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	ids, err := claimExpired.Run(octx, s.rdb, []string{keyLiveLeases}, strconv.FormatInt(now.UnixMilli(), 10)).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return ids, s.fail(ctx, "claim expired live leases", err)
}

// LiveLeased reports whether some node vouches for the gig right now.
func (s *RedisStore) LiveLeased(ctx context.Context, id string) (bool, error) {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	_, err := s.rdb.ZScore(octx, keyLiveLeases, id).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, s.fail(ctx, "live lease", err)
}

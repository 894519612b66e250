package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// sweepScript removes up to ARGV[2] gigs that ended at or before ARGV[1]
// (unix ms) from every index, with their hash and stream-key lookup if
// those have not expired yet, in one atomic step, and returns their ids.
// A gig found live again (a transition the ended_at index missed) is only
// dropped from ended_at.
//
// ARGV: cutoff, batch, the statuses, "--", the categories. The gig's
// category is unknown once its hash expired, so every category index is
// cleaned; ZREM of an absent member costs O(1).
const sweepScript = `
local cutoff, batch = ARGV[1], tonumber(ARGV[2])
local statuses, cats, i = {}, {}, 3
while ARGV[i] ~= '--' do statuses[#statuses + 1] = ARGV[i]; i = i + 1 end
for j = i + 1, #ARGV do cats[#cats + 1] = ARGV[j] end
local ids = redis.call('ZRANGEBYSCORE', '` + keyEndedAt + `', '-inf', cutoff, 'LIMIT', 0, batch)
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', '` + keyEndedAt + `', id)
  local gk = '` + keyGigPrefix + `' .. id
  local h = redis.call('HMGET', gk, '` + fieldStatus + `', '` + fieldStreamKeyHash + `')
  if not h[1] or h[1] == 'ended' then
    if h[2] then redis.call('DEL', '` + keyStreamKeyPrefix + `' .. h[2]) end
    redis.call('DEL', gk)
    redis.call('ZREM', '` + keyByStart + `', id)
    for _, st in ipairs(statuses) do
      redis.call('ZREM', '` + keyStatusPrefix + `' .. st, id)
      for _, c in ipairs(cats) do redis.call('ZREM', '` + keyCategoryPrefix + `' .. c .. ':' .. st, id) end
    end
    out[#out + 1] = id
  end
end
return out`

func newSweepScript() *redis.Script { return redis.NewScript(sweepScript) }

// SweepExpired removes the ended gigs whose retention ran out by now (at
// most SweepBatch, oldest first): their hashes and stream keys (if Redis
// has not expired them already) and their index entries. It returns their
// ids so that the caller can drop what other packages keep per gig
// (tickets, chat history); the store never touches keys it does not own.
// Call it periodically on one node or on all: each gig is removed, and
// returned, once.
func (s *RedisStore) SweepExpired(ctx context.Context, now time.Time) ([]string, error) {
	if s.retention <= 0 {
		return nil, nil
	}
	args := []any{strconv.FormatInt(now.Add(-s.retention).UnixMilli(), 10), SweepBatch}
	for _, st := range Statuses() {
		args = append(args, string(st))
	}
	args = append(args, "--")
	for _, c := range Categories() {
		args = append(args, string(c))
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	ids, err := s.sweep.Run(octx, s.rdb, nil, args...).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(ctx, "sweep expired", err)
	}
	s.fail(ctx, "sweep expired", nil)
	return ids, nil
}

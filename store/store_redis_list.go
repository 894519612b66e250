package store

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// listScript walks sorted-set indexes in list order and returns the public
// fields (HMGET, in publicFields order) of up to `want` gigs, in one round
// trip. Doing the walk server-side matters because a page otherwise costs
// several round trips, and each is a chance to wait for a busy CPU.
//
// The walk goes through phases (live gigs first, then the rest). A phase
// merges one or more indexes that hold exactly the gigs the filter matches
// (a status, a category and status, or the scheduled and ended indexes
// together for "not live"), so the script never reads a gig it then throws
// away: a page costs want HMGETs and a few ZRANGEBYSCOREs per index however
// many gigs do not match. The only entries skipped are those of an ended
// gig whose hash expired before SweepExpired ran, and the cursor's ties.
//
// ARGV: gig key prefix, want, number of fields, the fields, then per
// phase: number of indexes n, min, max, cursor score ("" = none), cursor
// id, and the n index keys.
//
// Gig hash keys are built inside the script, which is fine on one Redis
// node (the engine's scope) but not on Redis Cluster.
const listScript = `
local prefix, want, nfields = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local fields = {}
for i = 1, nfields do fields[i] = ARGV[3 + i] end
local batch = math.max(want, 16)
local out, n = {}, 0

-- head returns the next id and score of an index, reading a batch when
-- its buffer is used up.
local function head(src)
  if src.i > #src.buf and not src.done then
    src.buf = redis.call('ZRANGEBYSCORE', src.key, src.min, src.max, 'WITHSCORES', 'LIMIT', src.off, batch)
    src.i, src.off = 1, src.off + #src.buf / 2
    src.done = #src.buf < batch * 2
  end
  if src.i > #src.buf then return nil end
  return src.buf[src.i], tonumber(src.buf[src.i + 1])
end

local a = 4 + nfields
while a <= #ARGV and n < want do
  local nsrc, min, max, cs, cid = tonumber(ARGV[a]), ARGV[a+1], ARGV[a+2], tonumber(ARGV[a+3]), ARGV[a+4]
  local srcs = {}
  for j = 1, nsrc do
    srcs[j] = {key = ARGV[a+4+j], min = min, max = max, off = 0, buf = {}, i = 1, done = false}
  end
  a = a + 5 + nsrc
  while n < want do
    local best, bid, bs
    for _, src in ipairs(srcs) do
      local id, s = head(src)
      if id and (not best or s < bs or (s == bs and id < bid)) then best, bid, bs = src, id, s end
    end
    if not best then break end
    best.i = best.i + 2
    if not cs or bs > cs or (bs == cs and bid > cid) then
      local v = redis.call('HMGET', prefix .. bid, unpack(fields))
      if v[1] then
        n = n + 1
        out[n] = v
      end
    end
  end
end
return out`

// List implements Reader: live gigs first, then the rest, each phase read
// from the indexes that hold exactly the matching gigs, stopping at one gig
// more than the page needs.
func (s *RedisStore) List(ctx context.Context, f Filter) (Page, error) {
	f, after, err := f.normalize()
	if err != nil {
		return Page{}, err
	}
	fields := publicFields()
	args := []any{keyGigPrefix, f.Limit + 1, len(fields)}
	for _, fl := range fields {
		args = append(args, fl)
	}
	index := func(st Status) string {
		if f.Category == "" {
			return statusKey(st)
		}
		return categoryKey(f.Category, st)
	}
	addPhase := func(phase int, statuses ...Status) {
		if !after.isZero() && after.phase > phase {
			return // the cursor is past this phase
		}
		useCursor := !after.isZero() && after.phase == phase
		lo, hi, ok := scoreRange(f, after, useCursor)
		if !ok {
			return
		}
		curScore, curID := "", ""
		if useCursor {
			curScore, curID = strconv.FormatInt(after.start, 10), after.id
		}
		args = append(args, len(statuses), lo, hi, curScore, curID)
		for _, st := range statuses {
			args = append(args, index(st))
		}
	}
	switch f.Status {
	case "":
		addPhase(0, StatusLive)
		addPhase(1, StatusScheduled, StatusEnded)
	case StatusLive:
		addPhase(0, StatusLive)
	default:
		addPhase(1, f.Status)
	}

	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	raw, err := s.list.Run(octx, s.rdb, nil, args...).Slice()
	if err != nil {
		return Page{}, s.fail(ctx, "list", err)
	}
	s.fail(ctx, "list", nil)
	out := make([]Gig, 0, len(raw))
	for _, r := range raw {
		vals, _ := r.([]any)
		g, ok, err := decodeGigValues(fields, vals)
		if err != nil {
			return Page{}, s.fail(ctx, "list", err)
		}
		// The indexes select already; this re-check keeps the engines'
		// semantics identical even if an index and its hashes drift apart.
		if ok && f.matches(g) {
			out = append(out, g)
		}
	}
	return pageOf(out, f.Limit), nil
}

// scoreRange turns From/To and the cursor into ZRANGEBYSCORE bounds over
// whole seconds (starts_at has second precision); ok=false means the range
// is empty.
func scoreRange(f Filter, after position, useCursor bool) (lo, hi string, ok bool) {
	var l, h int64 = -1 << 53, 1 << 53
	hiOpen := false
	if !f.From.IsZero() {
		l = f.From.Unix()
		if f.From.Nanosecond() > 0 {
			l++
		}
	}
	if useCursor && after.start > l {
		l = after.start
	}
	if !f.To.IsZero() {
		h = f.To.Unix()
		hiOpen = f.To.Nanosecond() == 0
	}
	if l > h || (l == h && hiOpen) {
		return "", "", false
	}
	hi = strconv.FormatInt(h, 10)
	if hiOpen {
		hi = "(" + hi
	}
	return strconv.FormatInt(l, 10), hi, true
}

// newListScript is kept on the store (no package state).
func newListScript() *redis.Script { return redis.NewScript(listScript) }

package store

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// listScript walks sorted-set indexes in list order and returns the public
// fields (HMGET, in publicFields order) of up to `want` gigs, in one round
// trip. Doing the walk server-side matters because a page otherwise costs
// 3-5 round trips (live index, start index, hashes, and more when live gigs
// or a category filter skip entries), and each round trip is a chance to
// wait for a busy CPU.
//
// ARGV: gig key prefix, want, category ("" = any), category field index,
// status field index, number of fields, the fields, then per scan: key, min,
// max, cursor score ("" = none), cursor id, skip live ("1"/"0").
//
// Gig hash keys are built inside the script, which is fine on one Redis
// node (the engine's scope) but not on Redis Cluster.
const listScript = `
local prefix, want, category = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local catIdx, statusIdx, nfields = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local fields = {}
for i = 1, nfields do fields[i] = ARGV[6 + i] end
local a = 7 + nfields
local out, n, batch = {}, 0, 64
while a <= #ARGV and n < want do
  local key, min, max, curScore, curId, skipLive = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5] == '1'
  a = a + 6
  local cs = tonumber(curScore)
  local offset = 0
  while n < want do
    local r = redis.call('ZRANGEBYSCORE', key, min, max, 'WITHSCORES', 'LIMIT', offset, batch)
    for i = 1, #r, 2 do
      local id, s = r[i], tonumber(r[i+1])
      if not cs or s > cs or (s == cs and id > curId) then
        local v = redis.call('HMGET', prefix .. id, unpack(fields))
        if v[1] and (category == '' or v[catIdx] == category) and not (skipLive and v[statusIdx] == 'live') then
          n = n + 1
          out[n] = v
          if n >= want then break end
        end
      end
    end
    if #r < batch * 2 then break end
    offset = offset + batch
  end
end
return out`

// List implements Reader: live gigs (status:live index) first, then the
// by_start index without the live ones, or the one status index a filter
// names, stopping at one gig more than the page needs.
func (s *RedisStore) List(ctx context.Context, f Filter) (Page, error) {
	f, after, err := f.normalize()
	if err != nil {
		return Page{}, err
	}
	fields := publicFields()
	args := []any{keyGigPrefix, f.Limit + 1, string(f.Category), fieldIndex(fields, fieldCategory), fieldIndex(fields, fieldStatus), len(fields)}
	for _, fl := range fields {
		args = append(args, fl)
	}
	addScan := func(key string, phase int, skipLive bool) {
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
		skip := "0"
		if skipLive {
			skip = "1"
		}
		args = append(args, key, lo, hi, curScore, curID, skip)
	}
	switch f.Status {
	case "":
		addScan(statusKey(StatusLive), 0, false)
		addScan(keyByStart, 1, true)
	case StatusLive:
		addScan(statusKey(StatusLive), 0, false)
	default:
		addScan(statusKey(f.Status), 1, false)
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
		// The script filtered already; this re-check keeps the engines'
		// semantics identical even if the script and Filter drift apart.
		if ok && f.matches(g) {
			out = append(out, g)
		}
	}
	return pageOf(out, f.Limit), nil
}

func fieldIndex(fields []string, f string) int {
	for i, name := range fields {
		if name == f {
			return i + 1 // Lua arrays start at 1
		}
	}
	return 0
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

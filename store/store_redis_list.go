package store

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// List implements Reader. It walks the sorted-set indexes in list order
// (status:live first, then by_start skipping live gigs, or the one status
// index a filter names), fetching the hashes of each batch in one pipeline,
// and stops as soon as it has one gig more than the page needs.
func (s *RedisStore) List(ctx context.Context, f Filter) (Page, error) {
	f, after, err := f.normalize()
	if err != nil {
		return Page{}, err
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	l := redisLister{s: s, ctx: octx, f: f, after: after, want: f.Limit + 1}
	switch f.Status {
	case "":
		err = l.scan(statusKey(StatusLive), 0)
		if err == nil {
			err = l.scan(keyByStart, 1)
		}
	case StatusLive:
		err = l.scan(statusKey(StatusLive), 0)
	default:
		err = l.scan(statusKey(f.Status), 1)
	}
	if err != nil {
		return Page{}, s.fail(ctx, "list", err)
	}
	s.fail(ctx, "list", nil)
	return pageOf(l.out, f.Limit), nil
}

type redisLister struct {
	s     *RedisStore
	ctx   context.Context
	f     Filter
	after position
	want  int
	out   []Gig
}

// scan appends the gigs of one index (all in list phase phase) that match
// the filter and come after the cursor.
func (l *redisLister) scan(key string, phase int) error {
	if len(l.out) >= l.want || (!l.after.isZero() && l.after.phase > phase) {
		return nil
	}
	useCursor := !l.after.isZero() && l.after.phase == phase
	rng := l.scoreRange(useCursor)
	if rng == nil {
		return nil
	}
	for offset := int64(0); len(l.out) < l.want; {
		need := l.want - len(l.out)
		batch := need
		if l.f.Category != "" {
			// Category has no index: read ahead, most entries will not match.
			batch = need * 4
		}
		batch = min(max(batch, 8), 400)
		rng.Offset, rng.Count = offset, int64(batch)
		zs, err := l.s.rdb.ZRangeByScoreWithScores(l.ctx, key, rng).Result()
		if err != nil {
			return err
		}
		offset += int64(len(zs))
		ids := make([]string, 0, len(zs))
		for _, z := range zs {
			id, _ := z.Member.(string)
			pos := position{phase: phase, start: int64(z.Score), id: id}
			if useCursor && !l.after.less(pos) {
				continue
			}
			ids = append(ids, id)
		}
		if err := l.fetch(ids, phase); err != nil {
			return err
		}
		if len(zs) < batch {
			return nil
		}
	}
	return nil
}

// scoreRange turns From/To and the cursor into a ZRANGEBYSCORE range over
// whole seconds, or nil when the range is empty.
func (l *redisLister) scoreRange(useCursor bool) *redis.ZRangeBy {
	lo, hi := int64(-1<<53), int64(1<<53)
	hiOpen := false
	if !l.f.From.IsZero() {
		lo = l.f.From.Unix()
		if l.f.From.Nanosecond() > 0 { // starts_at has whole seconds
			lo++
		}
	}
	if useCursor && l.after.start > lo {
		lo = l.after.start
	}
	if !l.f.To.IsZero() {
		hi = l.f.To.Unix()
		hiOpen = l.f.To.Nanosecond() == 0
	}
	if lo > hi || (lo == hi && hiOpen) {
		return nil
	}
	max := strconv.FormatInt(hi, 10)
	if hiOpen {
		max = "(" + max
	}
	return &redis.ZRangeBy{Min: strconv.FormatInt(lo, 10), Max: max}
}

// fetch reads the hashes of ids in one pipeline and keeps those that still
// exist, match the filter and belong to this phase (by_start also holds live
// gigs, which phase 0 already listed).
func (l *redisLister) fetch(ids []string, phase int) error {
	if len(ids) == 0 {
		return nil
	}
	cmds, err := l.s.rdb.Pipelined(l.ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.HGetAll(l.ctx, gigKey(id))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range cmds {
		m := c.(*redis.MapStringStringCmd).Val()
		if len(m) == 0 {
			continue // deleted since the index was read
		}
		rg, err := decodeGig(m)
		if err != nil {
			return err
		}
		if positionOf(rg.gig).phase != phase || !l.f.matches(rg.gig) {
			continue
		}
		l.out = append(l.out, rg.gig)
		if len(l.out) >= l.want {
			return nil
		}
	}
	return nil
}

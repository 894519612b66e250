package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// migrateBatch is how many gigs one migration step reads and indexes.
const migrateBatch = 256

// migrate brings data written before the current index layout up to it:
// unless index_version says the indexes are current, it walks every gig
// (the by_start index) and adds it to the indexes a gig of its status and
// category belongs in; ended gigs get their expiry and their ended_at
// entry. Every write is idempotent (ZADD, PEXPIREAT), each step reads and
// writes migrateBatch gigs in one WATCH/MULTI transaction, so Redis is
// never held for long, several nodes starting at once do no harm, and a
// gig another node changes mid-step is read again.
func (s *RedisStore) migrate(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	v, err := s.rdb.Get(octx, keyIndexVersion).Result()
	cancel()
	switch {
	case err == nil && v == indexVersion:
		return nil
	case err != nil && !errors.Is(err, redis.Nil):
		return s.fail(ctx, "migrate", err)
	}
	var cursor uint64
	indexed := 0
	for {
		octx, cancel := context.WithTimeout(ctx, s.opTimeout)
		pairs, next, err := s.rdb.ZScan(octx, keyByStart, cursor, "", migrateBatch).Result()
		cancel()
		if err != nil {
			return s.fail(ctx, "migrate", err)
		}
		ids := make([]string, 0, len(pairs)/2)
		for i := 0; i < len(pairs); i += 2 {
			ids = append(ids, pairs[i])
		}
		n, err := s.indexBatch(ctx, ids)
		if err != nil {
			return err
		}
		indexed += n
		if cursor = next; cursor == 0 {
			break
		}
	}
	octx, cancel = context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	if err := s.rdb.Set(octx, keyIndexVersion, indexVersion, 0).Err(); err != nil {
		return s.fail(ctx, "migrate", err)
	}
	s.log.Info("store indexes built", "version", indexVersion, "gigs", indexed)
	return nil
}

// indexBatch adds the gigs ids to the current indexes and returns how many
// exist. A hash that does not parse is logged and left alone: start-up
// should not fail on one bad gig.
func (s *RedisStore) indexBatch(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = gigKey(id)
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		n := 0
		err := s.rdb.Watch(octx, func(tx *redis.Tx) error {
			reads, err := tx.Pipelined(octx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.HGetAll(octx, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(octx, func(p redis.Pipeliner) error {
				for i, r := range reads {
					m := r.(*redis.MapStringStringCmd).Val()
					if len(m) == 0 {
						continue // deleted, or expired and waiting for the sweep
					}
					rg, err := decodeGig(m)
					if err != nil {
						s.log.Warn("migrate: skipping unreadable gig", "gig", ids[i], "err", err)
						continue
					}
					s.queueIndexes(octx, p, rg)
					n++
				}
				return nil
			})
			return err
		}, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return 0, s.fail(ctx, "migrate", err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("redis migrate: %w: gigs kept changing", ErrConflict)
}

// queueIndexes adds rg to every index its fields place it in, and starts
// its expiry if it has ended.
func (s *RedisStore) queueIndexes(ctx context.Context, p redis.Pipeliner, rg redisGig) {
	g := rg.gig
	z := redis.Z{Score: float64(g.StartsAt.Unix()), Member: g.ID}
	p.ZAdd(ctx, keyByStart, z)
	p.ZAdd(ctx, statusKey(g.Status), z)
	p.ZAdd(ctx, categoryKey(g.Category, g.Status), z)
	if g.Status != StatusEnded || g.EndedAt.IsZero() {
		return
	}
	p.ZAdd(ctx, keyEndedAt, redis.Z{Score: float64(g.EndedAt.UnixMilli()), Member: g.ID})
	if exp, ok := expiresAt(g, s.retention); ok {
		p.PExpireAt(ctx, gigKey(g.ID), exp)
		p.PExpireAt(ctx, streamKeyKey(rg.streamKeyHash), exp)
	}
}

package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/redisconn"
	"github.com/bookmygig/bookmygig/internal/secret"
)

// Redis keys. Every gig is a hash; sorted sets index gigs by start time
// (score = starts_at in unix seconds, ties ordered by id because Redis sorts
// equal scores by member), and a plain key maps a stream-key hash to its gig.
//
// Every filter List supports reads only indexes that hold exactly the gigs
// it matches: by status, and by category and status together (a category
// filter without a status merges that category's three status indexes).
// An ended gig's hash and stream key expire EndedRetention after it ended;
// the ended_at index lets SweepExpired take its id out of every index.
const (
	keyGigPrefix       = "bmg:gig:"               // + id -> hash of the gig
	keyByStart         = "bmg:gigs:by_start"      // zset id, score starts_at: every gig
	keyStatusPrefix    = "bmg:gigs:status:"       // + status -> zset id, score starts_at
	keyCategoryPrefix  = "bmg:gigs:category:"     // + category + ":" + status -> zset id, score starts_at
	keyEndedAt         = "bmg:gigs:ended_at"      // zset id, score ended_at in unix ms: ended gigs
	keyIndexVersion    = "bmg:gigs:index_version" // the index layout the data is built for
	keyStreamKeyPrefix = "bmg:streamkey:"         // + sha256 hex of stream key -> id
)

// indexVersion names the current index layout: 2 added the category and
// ended_at indexes and the expiry of ended gigs.
const indexVersion = "2"

func gigKey(id string) string         { return keyGigPrefix + id }
func statusKey(s Status) string       { return keyStatusPrefix + string(s) }
func streamKeyKey(hash string) string { return keyStreamKeyPrefix + hash }
func categoryKey(c Category, s Status) string {
	return keyCategoryPrefix + string(c) + ":" + string(s)
}

// Timeouts chosen so that a dead or frozen Redis turns into ErrUnavailable
// well within a second instead of a hanging request.
const (
	DefaultRedisDialTimeout = redisconn.DefaultDialTimeout
	DefaultRedisIOTimeout   = redisconn.DefaultIOTimeout
	DefaultRedisOpTimeout   = redisconn.DefaultOpTimeout
	// maxTxAttempts bounds optimistic-locking retries before ErrConflict;
	// the op timeout bounds them too.
	maxTxAttempts = 100
)

// RedisConfig configures RedisStore. Zero durations take the defaults above.
type RedisConfig struct {
	// URL is a redis:// or rediss:// URL (redis://user:pass@host:6379/0)
	// or a redis-sentinel:// URL (internal/redisconn). Its wait_replicas
	// (default 1 with sentinels) makes every gig write wait for that many
	// replicas before it is acknowledged.
	URL string
	// DialTimeout bounds connecting; IOTimeout bounds each read and write.
	DialTimeout time.Duration
	IOTimeout   time.Duration
	// OpTimeout bounds one store call, all its round trips included.
	OpTimeout time.Duration
	// PoolSize is the connection pool size; 0 means go-redis's default
	// (10 per CPU).
	PoolSize int
	// EndedRetention is how long an ended gig is kept: its hash and stream
	// key expire that long after it ended, and SweepExpired then takes it
	// out of the indexes. 0 means DefaultEndedRetention; negative keeps
	// ended gigs forever.
	EndedRetention time.Duration
	// Now is the store's clock (nil: time.Now); tests set it.
	Now func() time.Time
}

var _ Store = (*RedisStore)(nil)

// RedisStore keeps gigs in Redis so that every node sharing the Redis sees
// the same gigs. Each multi-key write is one MULTI/EXEC transaction (guarded
// by WATCH where it reads first), so a crash or a dropped connection mid-write
// leaves either the whole change or none of it.
type RedisStore struct {
	rdb       *redis.Client
	log       *slog.Logger
	opTimeout time.Duration
	health    *redisconn.Health
	closeOnce sync.Once
	closeErr  error
	now       func() time.Time
	retention time.Duration // 0: keep ended gigs forever
	list      *redis.Script
	sweep     *redis.Script
	// waitReplicas > 0 makes gig writes WAIT for that many replicas (see
	// replicated).
	waitReplicas int
	waitTimeout  time.Duration
}

// NewRedis connects to Redis and checks it answers. An unreachable Redis is
// an error wrapping ErrUnavailable, so start-up can fail with a clear
// message; after start-up the store rides out outages by itself.
func NewRedis(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*RedisStore, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Waiting for a pooled connection must not outlast the request either
	// (the pool timeout is the I/O timeout).
	conn := redisconn.StoreConfig{
		URL: cfg.URL, DialTimeout: cfg.DialTimeout, IOTimeout: cfg.IOTimeout, OpTimeout: cfg.OpTimeout,
		PoolSize: cfg.PoolSize,
	}.WithDefaults()
	log = log.With("component", "store", "engine", "redis")
	s := &RedisStore{
		log:       log,
		health:    redisconn.NewHealth(ErrUnavailable, log),
		opTimeout: conn.OpTimeout,
		now:       time.Now,
		retention: endedRetention(cfg.EndedRetention),
		list:      newListScript(),
		sweep:     newSweepScript(),
	}
	if cfg.Now != nil {
		s.now = cfg.Now
	}
	rdb, target, err := redisconn.Connect(ctx, conn)
	if errors.Is(err, redisconn.ErrURL) {
		return nil, err
	}
	if err != nil {
		return nil, s.fail(ctx, "ping", err)
	}
	s.rdb, s.waitReplicas, s.waitTimeout = rdb, target.WaitReplicas, target.WaitTimeout
	if err := s.migrate(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool. It is idempotent.
func (s *RedisStore) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.rdb.Close() })
	return s.closeErr
}

// Ping implements Store.
func (s *RedisStore) Ping(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	return s.fail(ctx, "ping", s.rdb.Ping(octx).Err())
}

// fail classifies an error from a Redis call. Domain errors pass through.
// Anything that means "Redis did not answer" becomes ErrUnavailable, unless
// the caller's own context ended first (redisconn.Health.Fail).
func (s *RedisStore) fail(parent context.Context, op string, err error) error {
	if errors.Is(err, errCorrupt) {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	if isDomainErr(err) {
		s.health.OK()
		return err
	}
	return s.health.Fail(parent, op, err)
}

func isDomainErr(err error) bool {
	var ve *ValidationError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, access.ErrUnknownKey) ||
		errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.As(err, &ve)
}

// Create implements Writer: one MULTI/EXEC writes the hash, its indexes and
// the stream-key lookup together.
func (s *RedisStore) Create(ctx context.Context, in GigInput) (Gig, Secrets, error) {
	g, err := in.normalize()
	if err != nil {
		return Gig{}, Secrets{}, err
	}
	now := s.now().UTC()
	if err := checkNotPast(g.StartsAt, now); err != nil {
		return Gig{}, Secrets{}, err
	}
	g.ID, g.Status, g.CreatedAt, g.UpdatedAt = secret.NewID(), StatusScheduled, now, now
	sec := newSecrets()
	skh := secret.Hash(sec.StreamKey)
	fields := append(gigFields(g), fieldManageHash, secret.Hash(sec.ManageToken), fieldStreamKeyHash, skh)
	score := float64(g.StartsAt.Unix())

	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	// Watch without keys only pins one connection, for replicated's WAIT.
	err = s.rdb.Watch(octx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(octx, func(p redis.Pipeliner) error {
			p.HSet(octx, gigKey(g.ID), fields...)
			p.ZAdd(octx, keyByStart, redis.Z{Score: score, Member: g.ID})
			p.ZAdd(octx, statusKey(g.Status), redis.Z{Score: score, Member: g.ID})
			p.ZAdd(octx, categoryKey(g.Category, g.Status), redis.Z{Score: score, Member: g.ID})
			p.Set(octx, streamKeyKey(skh), g.ID, 0)
			return nil
		})
		if err != nil {
			return err
		}
		return s.replicated(octx, tx)
	})
	if err != nil {
		return Gig{}, Secrets{}, s.fail(ctx, "create", err)
	}
	s.fail(ctx, "create", nil)
	return g, sec, nil
}

// replicated waits until waitReplicas replicas hold every write made on
// tx's connection. Redis replicates asynchronously: a write the master
// acknowledged may not have reached the replica that Sentinel promotes when
// the master dies, so with replicas configured the store acknowledges a gig
// write only once WAIT has counted them. Falling short is ErrUnavailable
// (the write may still survive; it is just not promised).
func (s *RedisStore) replicated(ctx context.Context, tx *redis.Tx) error {
	if s.waitReplicas <= 0 {
		return nil
	}
	n, err := tx.Wait(ctx, s.waitReplicas, s.waitTimeout).Result()
	if err != nil {
		return err
	}
	if n < int64(s.waitReplicas) {
		return fmt.Errorf("%w: %d of %d replicas acknowledged the write within %v", errNotReplicated, n, s.waitReplicas, s.waitTimeout)
	}
	return nil
}

// Get implements Reader.
func (s *RedisStore) Get(ctx context.Context, id string) (Gig, error) {
	rg, err := s.load(ctx, id)
	return rg.gig, err
}

func (s *RedisStore) load(ctx context.Context, id string) (redisGig, error) {
	if !secret.ValidID(id) {
		return redisGig{}, ErrNotFound
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	m, err := s.rdb.HGetAll(octx, gigKey(id)).Result()
	if err != nil {
		return redisGig{}, s.fail(ctx, "get", err)
	}
	s.fail(ctx, "get", nil)
	if len(m) == 0 {
		return redisGig{}, ErrNotFound
	}
	return decodeGig(m)
}

// modify runs read-check-write on one gig under WATCH: fn sees the current
// gig and returns the writes to queue in MULTI/EXEC (nil: write nothing). A
// concurrent change to the gig aborts EXEC and the whole step is retried, so
// fn never acts on stale data.
func (s *RedisStore) modify(ctx context.Context, op, id string, fn func(cur redisGig) (func(p redis.Pipeliner), error)) error {
	if !secret.ValidID(id) {
		return ErrNotFound
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	key := gigKey(id)
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		err := s.rdb.Watch(octx, func(tx *redis.Tx) error {
			m, err := tx.HGetAll(octx, key).Result()
			if err != nil {
				return err
			}
			if len(m) == 0 {
				return ErrNotFound
			}
			cur, err := decodeGig(m)
			if err != nil {
				return err
			}
			write, err := fn(cur)
			if err != nil || write == nil {
				return err
			}
			_, err = tx.TxPipelined(octx, func(p redis.Pipeliner) error {
				write(p)
				return nil
			})
			if err != nil {
				return err
			}
			return s.replicated(octx, tx)
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return s.fail(ctx, op, err)
		}
		// Someone else changed the gig between WATCH and EXEC. Back off a
		// little, with jitter, so that contending writers spread out.
		backoff := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(attempt+1, 10))))
		select {
		case <-time.After(backoff):
		case <-octx.Done():
			return s.fail(ctx, op, octx.Err())
		}
	}
	return fmt.Errorf("redis %s: %w: gig %s kept changing", op, ErrConflict, id)
}

// Update implements Writer.
func (s *RedisStore) Update(ctx context.Context, id string, p Patch) (Gig, error) {
	var out Gig
	err := s.modify(ctx, "update", id, func(cur redisGig) (func(redis.Pipeliner), error) {
		now := s.now().UTC()
		g, err := p.apply(cur.gig, now)
		if err != nil {
			return nil, err
		}
		g.UpdatedAt = now
		out = g
		z := redis.Z{Score: float64(g.StartsAt.Unix()), Member: id}
		return func(pl redis.Pipeliner) {
			// HSET keeps the hash's expiry, so editing an ended gig does
			// not make it live forever.
			pl.HSet(ctx, gigKey(id), gigFields(g)...)
			pl.ZAdd(ctx, keyByStart, z)
			pl.ZAdd(ctx, statusKey(g.Status), z)
			if cur.gig.Category != g.Category {
				pl.ZRem(ctx, categoryKey(cur.gig.Category, g.Status), id)
			}
			pl.ZAdd(ctx, categoryKey(g.Category, g.Status), z)
		}, nil
	})
	return out, err
}

// Delete implements Writer: the hash, its indexes and the stream-key lookup
// go in one transaction.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	return s.modify(ctx, "delete", id, func(cur redisGig) (func(redis.Pipeliner), error) {
		if cur.gig.Status == StatusLive {
			return nil, ErrConflict
		}
		return func(pl redis.Pipeliner) {
			pl.Del(ctx, gigKey(id), streamKeyKey(cur.streamKeyHash))
			pl.ZRem(ctx, keyByStart, id)
			pl.ZRem(ctx, keyEndedAt, id)
			for _, st := range Statuses() {
				pl.ZRem(ctx, statusKey(st), id)
				pl.ZRem(ctx, categoryKey(cur.gig.Category, st), id)
			}
		}, nil
	})
}

// RotateStreamKey implements Credentials: the old lookup disappears in the
// same transaction that adds the new one.
func (s *RedisStore) RotateStreamKey(ctx context.Context, id string) (string, error) {
	key := secret.New(StreamKeyPrefix)
	h := secret.Hash(key)
	err := s.modify(ctx, "rotate stream key", id, func(cur redisGig) (func(redis.Pipeliner), error) {
		now := formatTime(s.now())
		exp, expires := expiresAt(cur.gig, s.retention)
		return func(pl redis.Pipeliner) {
			pl.Del(ctx, streamKeyKey(cur.streamKeyHash))
			pl.Set(ctx, streamKeyKey(h), id, 0)
			if expires {
				// The new key of an ended gig goes when its hash goes.
				pl.PExpireAt(ctx, streamKeyKey(h), exp)
			}
			pl.HSet(ctx, gigKey(id), fieldStreamKeyHash, h, fieldUpdatedAt, now)
		}, nil
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// CheckManageToken implements Credentials.
func (s *RedisStore) CheckManageToken(ctx context.Context, id, token string) error {
	if !secret.ValidID(id) {
		return ErrNotFound
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	want, err := s.rdb.HGet(octx, gigKey(id), fieldManageHash).Result()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return s.fail(ctx, "check manage token", err)
	}
	s.fail(ctx, "check manage token", nil)
	return checkToken(want, token)
}

// ResolveStreamKey implements KeyResolver; the lookup key is the hash, so
// no secret is compared at all.
func (s *RedisStore) ResolveStreamKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", access.ErrUnknownKey
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	id, err := s.rdb.Get(octx, streamKeyKey(secret.Hash(key))).Result()
	if errors.Is(err, redis.Nil) {
		return "", access.ErrUnknownKey
	}
	if err != nil {
		return "", s.fail(ctx, "resolve stream key", err)
	}
	s.fail(ctx, "resolve stream key", nil)
	return id, nil
}

// SetStatus implements StatusSetter: the hash and the per-status indexes
// change together. Ending a gig starts its retention (the hash and stream
// key expire, the ended_at index lists it for SweepExpired); going live
// again cancels it.
func (s *RedisStore) SetStatus(ctx context.Context, id string, status Status, at time.Time) error {
	if !status.Valid() {
		return invalid("status", "must be one of scheduled, live, ended")
	}
	return s.modify(ctx, "set status", id, func(cur redisGig) (func(redis.Pipeliner), error) {
		g := cur.gig
		changed, err := transition(&g, status, at)
		if err != nil || !changed {
			return nil, err
		}
		z := redis.Z{Score: float64(g.StartsAt.Unix()), Member: id}
		gk, sk := gigKey(id), streamKeyKey(cur.streamKeyHash)
		exp, expires := expiresAt(g, s.retention)
		return func(pl redis.Pipeliner) {
			pl.HSet(ctx, gk, fieldStatus, string(g.Status), fieldUpdatedAt, formatTime(g.UpdatedAt),
				fieldStartedAt, formatTime(g.StartedAt), fieldEndedAt, formatTime(g.EndedAt))
			pl.ZRem(ctx, statusKey(cur.gig.Status), id)
			pl.ZRem(ctx, categoryKey(g.Category, cur.gig.Status), id)
			pl.ZAdd(ctx, statusKey(g.Status), z)
			pl.ZAdd(ctx, categoryKey(g.Category, g.Status), z)
			switch {
			case g.Status == StatusEnded:
				pl.ZAdd(ctx, keyEndedAt, redis.Z{Score: float64(g.EndedAt.UnixMilli()), Member: id})
				if expires {
					pl.PExpireAt(ctx, gk, exp)
					pl.PExpireAt(ctx, sk, exp)
				}
			case cur.gig.Status == StatusEnded:
				// A creator restreams an ended show: it is current again.
				pl.ZRem(ctx, keyEndedAt, id)
				pl.Persist(ctx, gk)
				pl.Persist(ctx, sk)
			}
		}, nil
	})
}

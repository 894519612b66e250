package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Default time limits of a store's connection, chosen so that a dead or
// frozen Redis turns into an error well within a second instead of a
// hanging request.
const (
	DefaultDialTimeout = 500 * time.Millisecond
	DefaultIOTimeout   = 500 * time.Millisecond
	DefaultOpTimeout   = 800 * time.Millisecond
)

// StoreConfig is how a store (gigs, tickets) connects to Redis. Zero
// durations take the defaults above.
type StoreConfig struct {
	// URL is a redis://, rediss:// or redis-sentinel:// URL (Parse).
	URL string
	// DialTimeout bounds connecting; IOTimeout bounds each read and write.
	DialTimeout time.Duration
	IOTimeout   time.Duration
	// OpTimeout bounds one store call, all its round trips included, and
	// the PING of Connect.
	OpTimeout time.Duration
	// PoolTimeout bounds waiting for a pooled connection; 0 means
	// IOTimeout.
	PoolTimeout time.Duration
	// PoolSize is the connection pool size; 0 means go-redis's default.
	PoolSize int
}

// WithDefaults returns c with its zero durations set.
func (c StoreConfig) WithDefaults() StoreConfig {
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = DefaultIOTimeout
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.PoolTimeout <= 0 {
		c.PoolTimeout = c.IOTimeout
	}
	return c
}

// Connect parses c.URL, opens a client the way stores use one and checks
// that Redis answers a PING within c.OpTimeout. Stores neither retry (a
// dead Redis stays dead for the length of a request; retries would only
// stretch its 503 past a second) nor outlive their callers' contexts.
//
// A bad URL is an error wrapping ErrURL. A failed PING closes the client
// and returns the PING's error as it is, for the store to classify like
// any other failed call.
func Connect(ctx context.Context, c StoreConfig) (*redis.Client, Target, error) {
	c = c.WithDefaults()
	t, err := Parse(c.URL)
	if err != nil {
		return nil, Target{}, fmt.Errorf("redis url: %w", err)
	}
	rdb := t.Client(Options{
		DialTimeout: c.DialTimeout, ReadTimeout: c.IOTimeout, WriteTimeout: c.IOTimeout,
		PoolTimeout:           c.PoolTimeout,
		PoolSize:              c.PoolSize,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
	})
	pctx, cancel := context.WithTimeout(ctx, c.OpTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, Target{}, err
	}
	return rdb, t, nil
}

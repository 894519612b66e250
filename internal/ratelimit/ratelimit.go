// Package ratelimit counts events per key in fixed windows: in process
// (Memory, one node) or in Redis (every node sharing it sees one count, so a
// client spreading requests over the nodes behind a load balancer gets the
// same limit as one hitting a single node).
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Rule is Limit events per Window per key.
type Rule struct {
	Limit  int
	Window time.Duration
}

// ErrUnavailable means the count could not be read (Redis down); callers
// usually let the event through rather than refuse everyone.
var ErrUnavailable = errors.New("ratelimit: unavailable")

// Memory is a Rule over keys in this process.
type Memory struct {
	rule  Rule
	mu    sync.Mutex
	wins  map[string]window
	swept time.Time
}

type window struct {
	start time.Time
	n     int
}

// NewMemory counts in process.
func NewMemory(r Rule) *Memory { return &Memory{rule: r, wins: map[string]window{}} }

// Allow counts one event for key at now and reports whether it is within
// the rule, and if not, how long until the window ends.
func (m *Memory) Allow(_ context.Context, key string, now time.Time) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.swept) > m.rule.Window {
		// Expired windows go in one pass per window, so the map holds only
		// the keys seen lately whatever their number over time.
		for k, w := range m.wins {
			if now.Sub(w.start) >= m.rule.Window {
				delete(m.wins, k)
			}
		}
		m.swept = now
	}
	w := m.wins[key]
	if w.n == 0 || now.Sub(w.start) >= m.rule.Window {
		w = window{start: now}
	}
	w.n++
	m.wins[key] = w
	if w.n > m.rule.Limit {
		return false, w.start.Add(m.rule.Window).Sub(now), nil
	}
	return true, 0, nil
}

// Redis is a Rule over keys counted in Redis.
type Redis struct {
	rule   Rule
	rdb    redis.UniversalClient
	prefix string
	salt   []byte
	script *redis.Script
}

// incrScript counts one event and starts the window on the first:
// KEYS[1] counter, ARGV[1] window in ms. Returns {count, ms left}.
const incrScript = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`

// NewRedis counts in Redis under keys "bmg:ratelimit:<name>:<HMAC of the
// key>": with a salt only the nodes know, client addresses are never stored
// in the clear nor guessable from the key names.
func NewRedis(rdb redis.UniversalClient, name string, r Rule, salt []byte) *Redis {
	return &Redis{rule: r, rdb: rdb, prefix: "bmg:ratelimit:" + name + ":", salt: salt, script: redis.NewScript(incrScript)}
}

func (r *Redis) keyOf(key string) string {
	m := hmac.New(sha256.New, r.salt)
	m.Write([]byte(key))
	return r.prefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// Allow is Memory.Allow on the shared count.
func (r *Redis) Allow(ctx context.Context, key string, _ time.Time) (bool, time.Duration, error) {
	res, err := r.script.Run(ctx, r.rdb, []string{r.keyOf(key)}, r.rule.Window.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 2 {
		return true, 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if res[0] > int64(r.rule.Limit) {
		return false, time.Duration(res[1]) * time.Millisecond, nil
	}
	return true, 0, nil
}

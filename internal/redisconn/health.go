package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// transientReplies are the prefixes of Redis replies that mean "not serving
// right now" rather than "no" (a replica still loading or read-only, a
// master without its replicas, a busy script, a cluster reshaping).
var transientReplies = []string{"LOADING", "READONLY", "MASTERDOWN", "BUSY", "TRYAGAIN", "CLUSTERDOWN"}

// Transient reports whether a non-nil err from a Redis call means Redis did
// not serve the call, though it may serve it if asked again: no reply at all
// (a network error, a timeout, no free pooled connection), a reply in
// transientReplies, or a transaction whose watched keys changed
// (redis.TxFailedErr). Any other reply is Redis refusing the command.
func Transient(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) || errors.Is(err, redis.TxFailedErr) {
		return true
	}
	for _, p := range transientReplies {
		if strings.HasPrefix(rerr.Error(), p) {
			return true
		}
	}
	return false
}

// Health turns the errors of a store's Redis calls into the store's own, and
// logs once when Redis stops answering and once when it is back, however
// many calls fail in between.
type Health struct {
	unavailable error
	log         *slog.Logger
	down        atomic.Bool
}

// NewHealth returns a Health whose "Redis did not answer" errors wrap
// unavailable, the store's sentinel error, and that logs to log.
func NewHealth(unavailable error, log *slog.Logger) *Health {
	return &Health{unavailable: unavailable, log: log}
}

// OK notes that Redis answered.
func (h *Health) OK() {
	if h.down.Load() && h.down.CompareAndSwap(true, false) {
		h.log.Info("redis reachable again")
	}
}

// Fail classifies err from the Redis call op. A nil err notes that Redis
// answered and is returned as is. Otherwise the caller's own context
// (parent) ending comes first; a command Redis refused is wrapped as it is;
// anything Transient means Redis did not answer and wraps the store's
// unavailable error.
func (h *Health) Fail(parent context.Context, op string, err error) error {
	if err == nil {
		h.OK()
		return nil
	}
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("redis %s: %w", op, perr)
	}
	if !Transient(err) {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	if h.down.CompareAndSwap(false, true) {
		h.log.Warn("redis unavailable", "err", err)
	}
	return fmt.Errorf("redis %s: %w: %v", op, h.unavailable, err)
}

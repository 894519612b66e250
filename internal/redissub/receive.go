// Package redissub reads a Redis pub/sub subscription through outages: the
// receive loop shared by the chat relay and the ticket event bus, which
// meet nowhere else.
package redissub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// idleTimeout: a connection quiet for this long is pinged, since a
	// quiet connection may be a dead one.
	idleTimeout = 5 * time.Second
	// pingTimeout bounds that ping.
	pingTimeout = 2 * time.Second
	// minBackoff is the first wait after a failed read.
	minBackoff = 50 * time.Millisecond
)

// Config names a subscription and paces its reconnects.
type Config struct {
	// Name is what the log calls the subscription ("chat relay
	// subscription"): "<Name> lost, reconnecting" and "<Name> restored".
	Name string
	// MaxBackoff caps the wait between reconnect attempts.
	MaxBackoff time.Duration
}

// Receive reads ps until ctx ends or ps is closed, handing every message
// (*redis.Message, *redis.Subscription, *redis.Pong) to handle on the
// calling goroutine. A read in progress does not see ctx end: to stop
// Receive, cancel ctx and then close ps. go-redis reconnects and resubscribes by itself; Receive
// waits with backoff meanwhile and logs an outage once when it starts and
// once when it ends.
func Receive(ctx context.Context, ps *redis.PubSub, log *slog.Logger, cfg Config, handle func(msg any)) {
	failing := false
	backoff := minBackoff
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, idleTimeout)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A quiet connection may be a dead one: a ping either
				// answers through ReceiveTimeout or marks it bad.
				pctx, cancel := context.WithTimeout(ctx, pingTimeout)
				err = ps.Ping(pctx)
				cancel()
				if err == nil {
					continue
				}
			}
			if !failing {
				log.Warn(cfg.Name+" lost, reconnecting", "err", err)
				failing = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, cfg.MaxBackoff)
			continue
		}
		if failing {
			log.Info(cfg.Name + " restored")
			failing = false
		}
		backoff = minBackoff
		handle(msg)
	}
}

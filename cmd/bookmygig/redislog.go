package main

import (
	"context"
	"fmt"
	"log/slog"
)

// redisLogger sends go-redis's internal messages (reconnects, dropped
// pub/sub connections) to slog at debug level instead of stderr: the store
// and chat already log what an operator needs, once per outage. go-redis
// keeps its logger in a package variable, so only cmd may set it.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// relay runs broker writes (history, publish, moderation state) on one
// goroutine: local chat never waits for Redis, and events of this node reach
// the others in the order they happened here.
type relay struct {
	jobs    chan func(ctx context.Context) error
	timeout time.Duration
	log     *slog.Logger
	health  health
	// full is set while jobs are being dropped, so that is logged once.
	mu   sync.Mutex
	full bool
}

func newRelay(size int, timeout time.Duration, log *slog.Logger) *relay {
	return &relay{
		jobs:    make(chan func(ctx context.Context) error, size),
		timeout: timeout,
		log:     log,
		health: health{
			down: "chat relay to other nodes is down, chat continues on this node only",
			up:   "chat relay to other nodes restored",
		},
	}
}

// push queues a job without blocking; when the queue is full (broker down
// for a long time) the job is dropped.
func (r *relay) push(job func(ctx context.Context) error) {
	select {
	case r.jobs <- job:
		r.mu.Lock()
		if r.full {
			r.full = false
		}
		r.mu.Unlock()
	default:
		r.mu.Lock()
		if !r.full {
			r.full = true
			r.log.Warn("chat relay queue full, dropping events for other nodes")
		}
		r.mu.Unlock()
	}
}

func (r *relay) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			r.flush()
			return
		case job := <-r.jobs:
			r.do(ctx, job)
		}
	}
}

func (r *relay) do(parent context.Context, job func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(parent, r.timeout)
	defer cancel()
	if err := job(ctx); err != nil {
		r.health.report(r.log, err)
		return
	}
	r.health.ok(r.log)
}

// flush runs what is still queued at shutdown (moderation, last messages)
// with a fresh deadline, because the hub's context is already done.
func (r *relay) flush() {
	deadline := time.Now().Add(r.timeout)
	for time.Now().Before(deadline) {
		select {
		case job := <-r.jobs:
			r.do(context.Background(), job)
		default:
			return
		}
	}
}

// health logs a dependency's outage once when it starts and once when it ends.
type health struct {
	mu       sync.Mutex
	failing  bool
	down, up string
}

func (h *health) report(log *slog.Logger, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.failing {
		h.failing = true
		log.Warn(h.down, "err", err)
	}
}

func (h *health) ok(log *slog.Logger) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing {
		h.failing = false
		log.Info(h.up)
	}
}

package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// relay runs broker writes (history, publish, moderation state) on one
// goroutine: local chat never waits for Redis, and events of this node reach
// the others in the order they happened here. A write that fails is retried
// with backoff for up to retry after it was queued, holding back the writes
// queued after it so order is kept; once the relay is failing, writes that
// have waited longer than that are given up without a try, so a long outage
// drains the queue instead of trying every write in turn.
type relay struct {
	jobs    chan *relayJob
	timeout time.Duration
	retry   time.Duration
	log     *slog.Logger
	health  health
	// failing: the last attempt failed (read and written by run only).
	failing bool
	// full is set while jobs are being dropped, so that is logged once.
	mu   sync.Mutex
	full bool
}

// relayJob is one broker write of a number of steps (store, then publish);
// a retry starts from the first step not done, so a message is never
// appended twice because its publish failed.
type relayJob struct {
	steps  []func(ctx context.Context) error
	done   int
	queued time.Time
	// what names the write in logs ("history", "moderation").
	what string
	// gaveUp, when set, is told once that the write was given up.
	gaveUp func(err error)
}

// relay backoff between tries of a failed write.
const (
	relayMinBackoff = 50 * time.Millisecond
	relayMaxBackoff = time.Second
)

func newRelay(size int, timeout, retry time.Duration, log *slog.Logger) *relay {
	return &relay{
		jobs:    make(chan *relayJob, size),
		timeout: timeout,
		retry:   retry,
		log:     log,
		health: health{
			down: "chat relay to other nodes is down, chat continues on this node only",
			up:   "chat relay to other nodes restored",
		},
	}
}

// push queues a job without blocking; when the queue is full (broker down
// for a long time) the job is given up at once.
func (r *relay) push(j *relayJob) {
	j.queued = time.Now()
	select {
	case r.jobs <- j:
		r.mu.Lock()
		r.full = false
		r.mu.Unlock()
	default:
		r.mu.Lock()
		if !r.full {
			r.full = true
			r.log.Warn("chat relay queue full, dropping events for other nodes")
		}
		r.mu.Unlock()
		r.giveUp(j, ErrRelayFull)
	}
}

func (r *relay) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			r.flush()
			return
		case j := <-r.jobs:
			if !r.do(ctx, j) {
				// Closing while it waited for a retry: one last try in flush.
				r.flushOne(j)
				r.flush()
				return
			}
		}
	}
}

// do runs j until it succeeds or its retry time is over. It returns false
// when ctx ended while j was waiting for its next try.
func (r *relay) do(ctx context.Context, j *relayJob) bool {
	if r.failing && r.retry > 0 && time.Since(j.queued) > r.retry {
		r.giveUp(j, ErrRelayTimeout)
		return true
	}
	backoff := relayMinBackoff
	for {
		err := r.attempt(ctx, j)
		if err == nil {
			r.failing = false
			r.health.ok(r.log)
			return true
		}
		r.failing = true
		r.health.report(r.log, err)
		if r.retry <= 0 || time.Since(j.queued)+backoff > r.retry {
			r.giveUp(j, err)
			return true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, relayMaxBackoff)
	}
}

// attempt runs j's remaining steps under one deadline.
func (r *relay) attempt(parent context.Context, j *relayJob) error {
	ctx, cancel := context.WithTimeout(parent, r.timeout)
	defer cancel()
	for j.done < len(j.steps) {
		if err := j.steps[j.done](ctx); err != nil {
			return err
		}
		j.done++
	}
	return nil
}

func (r *relay) giveUp(j *relayJob, err error) {
	r.log.Debug("chat broker write given up", "what", j.what, "err", err)
	if j.gaveUp != nil {
		j.gaveUp(err)
	}
}

// flush runs what is still queued at shutdown (moderation, last messages)
// once each with a fresh deadline, because the hub's context is already done.
func (r *relay) flush() {
	deadline := time.Now().Add(r.timeout)
	for time.Now().Before(deadline) {
		select {
		case j := <-r.jobs:
			r.flushOne(j)
		default:
			return
		}
	}
}

func (r *relay) flushOne(j *relayJob) {
	if err := r.attempt(context.Background(), j); err != nil {
		r.health.report(r.log, err)
		r.giveUp(j, err)
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

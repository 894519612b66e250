package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/store"
)

// statusSync writes the gig status changes of media events (live, ended)
// to the store in event order, off the publisher's goroutine, retrying while
// the store is unreachable. Only the newest wanted status per gig is kept,
// so a flapping publisher never builds a backlog.
type statusSync struct {
	st  store.StatusSetter
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]statusChange
	order   []string
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	// failing is set while the store is unreachable, so an outage is
	// logged once and its end once (only the worker goroutine uses it).
	failing bool
}

type statusChange struct {
	status store.Status
	at     time.Time
}

func newStatusSync(st store.StatusSetter, log *slog.Logger) *statusSync {
	s := &statusSync{
		st: st, log: log,
		pending: map[string]statusChange{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.run()
	return s
}

// set queues the gig's new status; it never blocks.
func (s *statusSync) set(gigID string, status store.Status) {
	s.mu.Lock()
	if _, queued := s.pending[gigID]; !queued {
		s.order = append(s.order, gigID)
	}
	s.pending[gigID] = statusChange{status: status, at: time.Now()}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *statusSync) run() {
	defer close(s.done)
	backoff := 100 * time.Millisecond
	for {
		if s.flush(context.Background()) {
			backoff = 100 * time.Millisecond
			select {
			case <-s.wake:
			case <-s.stop:
				return
			}
			continue
		}
		// The store is down: try again later (a newer status may replace this one).
		select {
		case <-time.After(backoff):
		case <-s.stop:
			return
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// flush writes every pending change; it reports false if the store was
// unreachable and changes are left.
func (s *statusSync) flush(ctx context.Context) bool {
	for {
		s.mu.Lock()
		if len(s.order) == 0 {
			s.mu.Unlock()
			return true
		}
		id := s.order[0]
		ch := s.pending[id]
		s.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.st.SetStatus(wctx, id, ch.status, ch.at)
		cancel()
		if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			if !s.failing {
				s.log.Warn("gig status not saved yet: store unavailable, retrying until it is back", "gig", id, "status", ch.status)
			}
			s.failing = true
			return false
		}
		if s.failing {
			s.log.Info("store reachable again: saving pending gig statuses", "gig", id, "status", ch.status)
			s.failing = false
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("gig status not saved", "gig", id, "status", ch.status, "err", err)
		}
		s.mu.Lock()
		if s.pending[id] == ch { // unchanged while writing
			delete(s.pending, id)
			s.order = s.order[1:]
		}
		s.mu.Unlock()
	}
}

// close writes what is pending (bounded by ctx) and stops the worker.
func (s *statusSync) close(ctx context.Context) {
	close(s.stop)
	<-s.done
	done := make(chan struct{})
	go func() { defer close(done); s.flush(ctx) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("gig status changes left unsaved at shutdown")
	}
}

package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/store"
)

// expirySweeper is what the sweeper needs from the gig store: both engines
// remove ended gigs past their retention and say which.
type expirySweeper interface {
	SweepExpired(ctx context.Context, now time.Time) ([]string, error)
}

// gigDropper removes what other stores keep per gig (tickets).
type gigDropper interface {
	DeleteGig(ctx context.Context, gigID string) error
}

// sweeper removes ended gigs past --ended-retention every interval, with
// their tickets. Every node runs one: each expired gig is removed once.
// (Chat history and moderation expire in Redis by themselves.)
type sweeper struct {
	gigs     expirySweeper
	drop     gigDropper
	log      *slog.Logger
	interval time.Duration
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startSweeper(gigs expirySweeper, drop gigDropper, interval time.Duration, log *slog.Logger) *sweeper {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sweeper{gigs: gigs, drop: drop, log: log, interval: interval, cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s.sweep(ctx, now)
			}
		}
	}()
	return s
}

// sweep removes every expired gig, a batch at a time.
func (s *sweeper) sweep(ctx context.Context, now time.Time) int {
	total := 0
	for {
		ids, err := s.gigs.SweepExpired(ctx, now)
		if err != nil {
			s.log.Warn("sweeping ended gigs failed; next try in a while", "err", err, "next", s.interval)
			return total
		}
		for _, id := range ids {
			if err := s.drop.DeleteGig(ctx, id); err != nil {
				s.log.Warn("tickets of an expired gig not removed", "gig", id, "err", err)
			}
		}
		total += len(ids)
		if len(ids) > 0 {
			s.log.Info("expired gigs removed", "count", len(ids))
		}
		if len(ids) < store.SweepBatch {
			return total
		}
	}
}

func (s *sweeper) close() {
	s.cancel()
	s.wg.Wait()
}

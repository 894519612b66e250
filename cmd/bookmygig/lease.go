package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/store"
)

// liveLeaser is what the Redis engine offers so that nodes vouch for the
// gigs they stream (store/live_lease_redis.go). The embedded engine has no
// other node to tell, so it does not implement it.
type liveLeaser interface {
	RenewLiveLeases(ctx context.Context, ids []string, ttl time.Duration) error
	DropLiveLease(ctx context.Context, id string) error
	ClaimExpiredLiveLeases(ctx context.Context, now time.Time) ([]string, error)
	LiveLeased(ctx context.Context, id string) (bool, error)
}

var _ liveLeaser = (*store.RedisStore)(nil)

const (
	leaseEvery = 5 * time.Second
	// leaseTTL outlives two missed renewals; a crashed node's gigs end
	// within leaseTTL + leaseEvery.
	leaseTTL = 15 * time.Second
)

// leaseKeeper renews the leases of this node's live streams, drops those
// that ended, and ends the gigs of nodes that stopped renewing theirs.
// One goroutine; woken early by stream events.
type leaseKeeper struct {
	l      liveLeaser
	reg    *media.Registry
	status *statusSync
	log    *slog.Logger
	every  time.Duration
	ttl    time.Duration

	leased map[string]bool // what this node vouched for at the last tick
	// okSince is when renewals last started succeeding. After an outage
	// every node's leases may have expired; sweeping waits until all live
	// nodes have had two periods to renew, or it would end their shows.
	okSince time.Time
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newLeaseKeeper(l liveLeaser, reg *media.Registry, status *statusSync, log *slog.Logger) *leaseKeeper {
	return startLeaseKeeper(l, reg, status, log, leaseEvery, leaseTTL)
}

func startLeaseKeeper(l liveLeaser, reg *media.Registry, status *statusSync, log *slog.Logger, every, ttl time.Duration) *leaseKeeper {
	k := &leaseKeeper{l: l, reg: reg, status: status, log: log, every: every, ttl: ttl, leased: map[string]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go k.run()
	return k
}

// poke runs a tick soon (a stream started or ended); it never blocks.
func (k *leaseKeeper) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

func (k *leaseKeeper) run() {
	defer close(k.done)
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		k.tick(true)
		select {
		case <-t.C:
		case <-k.wake:
		case <-k.stop:
			k.tick(false) // streams are closed by now: drops our leases
			return
		}
	}
}

func (k *leaseKeeper) tick(sweep bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := map[string]bool{}
	var ids []string
	for _, s := range k.reg.Streams() {
		now[s.GigID()] = true
		ids = append(ids, s.GigID())
	}
	// The store logs an outage once; leases catch up at the next tick.
	if err := k.l.RenewLiveLeases(ctx, ids, k.ttl); err != nil {
		k.okSince = time.Time{}
		return
	}
	if k.okSince.IsZero() {
		k.okSince = time.Now()
	}
	for id := range k.leased {
		if !now[id] && k.l.DropLiveLease(ctx, id) != nil {
			return
		}
	}
	k.leased = now
	if !sweep || time.Since(k.okSince) < 2*k.every {
		return
	}
	expired, err := k.l.ClaimExpiredLiveLeases(ctx, time.Now())
	if err != nil {
		return
	}
	for _, id := range expired {
		if _, live := k.reg.Get(id); live {
			continue
		}
		// A node that took the gig over renews its lease before long;
		// a gig re-leased since the claim is live elsewhere.
		if ok, err := k.l.LiveLeased(ctx, id); err != nil || ok {
			continue
		}
		k.log.Warn("ending a gig whose node stopped streaming it (crashed or cut off)", "gig", id)
		k.status.set(id, store.StatusEnded)
	}
}

func (k *leaseKeeper) close() {
	close(k.stop)
	<-k.done
}

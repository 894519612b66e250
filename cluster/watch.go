package cluster

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/redissub"
	"github.com/redis/go-redis/v9"
)

// watchMaxBackoff caps the wait between reconnects of WatchOrigins.
const watchMaxBackoff = 2 * time.Second

// WatchOrigins calls fn with the gig id each time a gig's origin is
// claimed by a new node or released, until ctx ends; it returns then. It
// rides out Redis outages; since announcements made during one are lost,
// after reconnecting it calls fn for every gig that has an origin. fn runs
// on WatchOrigins' goroutine: it should not block for long.
func (d *Directory) WatchOrigins(ctx context.Context, fn func(gigID string)) {
	ps := d.rdb.Subscribe(ctx, channelEvents)
	// redissub.Receive does not see ctx end during a read: closing ps
	// unblocks it.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-stop:
		}
		_ = ps.Close()
	}()
	subscribed := false
	redissub.Receive(ctx, ps, d.log, redissub.Config{Name: "cluster event subscription", MaxBackoff: watchMaxBackoff}, func(msg any) {
		switch m := msg.(type) {
		case *redis.Message:
			if gigID, ok := strings.CutPrefix(m.Payload, eventOrigin); ok && gigID != "" {
				fn(gigID)
			}
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				return
			}
			if subscribed {
				d.resyncOrigins(ctx, fn)
			}
			subscribed = true
		}
	})
	close(stop)
	wg.Wait()
}

// resyncOrigins calls fn for every gig with an origin, after a
// resubscription that may have missed announcements.
func (d *Directory) resyncOrigins(ctx context.Context, fn func(gigID string)) {
	gigs, err := d.rdb.SMembers(ctx, keyOrigins).Result()
	if err != nil {
		d.log.Warn("cluster origins resync failed", "err", err)
		return
	}
	for _, gigID := range gigs {
		fn(gigID)
	}
}

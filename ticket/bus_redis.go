package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/redissub"
	"github.com/redis/go-redis/v9"
)

// screenScript: KEYS screens hash; ARGV ticket id, screen, ttl ms, channel,
// event JSON. Recording the screen and publishing in one step keeps
// CurrentScreen in the order the events are delivered in.
const screenScript = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('PUBLISH', ARGV[4], ARGV[5])`

// DefaultScreenTTL is how long a gig's screen record outlives its last
// media admission.
const DefaultScreenTTL = 7 * 24 * time.Hour

// RedisBusConfig configures a RedisBus.
type RedisBusConfig struct {
	// Client is the Redis connection (RedisStore.Client() will do); the
	// caller owns and closes it.
	Client redis.UniversalClient
	// OpTimeout bounds Publish and CurrentScreen. Default DefaultRedisOpTimeout.
	OpTimeout time.Duration
	// ScreenTTL: see DefaultScreenTTL.
	ScreenTTL time.Duration
}

var _ Bus = (*RedisBus)(nil)

// RedisBus relays gate events between nodes over one Redis pub/sub channel
// (keyEventsChannel). Redis delivers a channel's messages to every
// subscriber in one order, which the gate's one-screen rule relies on. The
// subscription reconnects and resubscribes by itself after an outage.
type RedisBus struct {
	rdb       redis.UniversalClient
	log       *slog.Logger
	opTimeout time.Duration
	screenTTL time.Duration
	screen    *redis.Script
	ps        *redis.PubSub
	ready     chan struct{}
	readyOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	subs      subscribers
}

// NewRedisBus subscribes to the events channel and waits (bounded by ctx
// and 2 s) until Redis confirms; an unreachable Redis is an error wrapping
// ErrUnavailable.
func NewRedisBus(ctx context.Context, cfg RedisBusConfig, log *slog.Logger) (*RedisBus, error) {
	if cfg.Client == nil {
		return nil, errors.New("ticket: RedisBusConfig.Client is nil")
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultRedisOpTimeout
	}
	if cfg.ScreenTTL <= 0 {
		cfg.ScreenTTL = DefaultScreenTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bctx, cancel := context.WithCancel(context.Background())
	b := &RedisBus{
		rdb:       cfg.Client,
		log:       log.With("component", "ticket-bus"),
		opTimeout: cfg.OpTimeout,
		screenTTL: cfg.ScreenTTL,
		screen:    redis.NewScript(screenScript),
		ready:     make(chan struct{}),
		ctx:       bctx,
		cancel:    cancel,
	}
	// go-redis remembers the channel and resubscribes after every reconnect.
	b.ps = b.rdb.Subscribe(bctx, keyEventsChannel)
	b.wg.Add(1)
	go b.receive()
	wait, wcancel := context.WithTimeout(ctx, 2*time.Second)
	defer wcancel()
	select {
	case <-b.ready:
		return b, nil
	case <-wait.Done():
		_ = b.Close()
		return nil, fmt.Errorf("subscribe %s: %w: %v", keyEventsChannel, ErrUnavailable, wait.Err())
	}
}

// Close stops the subscription. It is idempotent and does not close the
// Redis client.
func (b *RedisBus) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()
		_ = b.ps.Close()
		b.wg.Wait()
	})
	return nil
}

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, ev Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, b.opTimeout)
	defer cancel()
	if ev.Type == EventScreen {
		err = b.screen.Run(octx, b.rdb, []string{screensKey(ev.GigID)}, ev.TicketID, ev.Screen,
			b.screenTTL.Milliseconds(), keyEventsChannel, data).Err()
	} else {
		err = b.rdb.Publish(octx, keyEventsChannel, data).Err()
	}
	if err != nil {
		return fmt.Errorf("publish %s event: %w: %v", ev.Type, ErrUnavailable, err)
	}
	return nil
}

// Subscribe implements Bus.
func (b *RedisBus) Subscribe(h func(Event)) func() { return b.subs.add(h) }

// CurrentScreen implements Bus.
func (b *RedisBus) CurrentScreen(ctx context.Context, gigID, ticketID string) (string, error) {
	if !validGigID(gigID) {
		return "", nil
	}
	octx, cancel := context.WithTimeout(ctx, b.opTimeout)
	defer cancel()
	s, err := b.rdb.HGet(octx, screensKey(gigID), ticketID).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("current screen: %w: %v", ErrUnavailable, err)
	}
	return s, nil
}

// receive reads the subscription until Close.
func (b *RedisBus) receive() {
	defer b.wg.Done()
	redissub.Receive(b.ctx, b.ps, b.log, redissub.Config{Name: "ticket event subscription", MaxBackoff: time.Second}, func(msg any) {
		switch m := msg.(type) {
		case *redis.Message:
			var ev Event
			if err := json.Unmarshal([]byte(m.Payload), &ev); err != nil {
				b.log.Warn("bad ticket event", "err", err)
				return
			}
			if ev.Type == EventResync {
				return // local only
			}
			b.subs.deliver(ev)
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				return
			}
			first := false
			b.readyOnce.Do(func() { first = true; close(b.ready) })
			if !first {
				// Resubscribed after a lost connection: whatever was
				// published meanwhile is gone.
				b.subs.deliver(Event{Type: EventResync})
			}
		}
	})
}

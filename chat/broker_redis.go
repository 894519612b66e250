package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/redissub"
	"github.com/redis/go-redis/v9"
)

// Redis key layout (after RedisBrokerConfig.Prefix, default "bmg:"):
const (
	// keyChatChannel is the pub/sub channel of a gig's chat events.
	keyChatChannel = "chat:%s:events"
	// keyChatHistory is a list of the gig's last messages (JSON), oldest first.
	keyChatHistory = "chat:%s:history"
	// keyChatModeration is a hash "kind:target" -> Restriction JSON.
	keyChatModeration = "chat:%s:mod"
	// keyPresence is a hash nodeID -> "viewers:expiresUnixMilli".
	keyPresence = "presence:%s"
)

// RedisBrokerConfig configures a RedisBroker.
type RedisBrokerConfig struct {
	// Client is the Redis connection; the caller owns and closes it.
	Client redis.UniversalClient
	// Prefix is put before every key and channel. Default "bmg:".
	Prefix string
	// StateTTL is how long history and moderation state outlive the last
	// write. Default 7 days.
	StateTTL time.Duration
}

// RedisBroker relays chat between nodes over Redis pub/sub and keeps
// history, presence and moderation state in Redis.
type RedisBroker struct {
	cfg    RedisBrokerConfig
	rdb    redis.UniversalClient
	log    *slog.Logger
	ps     *redis.PubSub
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu     sync.Mutex
	nextID uint64
	subs   map[string]map[uint64]func([]byte) // channel -> handlers
	// waiters are Subscribe calls waiting for Redis to confirm a channel.
	waiters map[string][]chan struct{}
}

var _ Broker = (*RedisBroker)(nil)

// NewRedisBroker starts the broker's subscription reader.
func NewRedisBroker(cfg RedisBrokerConfig, log *slog.Logger) (*RedisBroker, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: RedisBrokerConfig.Client is nil", ErrInvalidConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "bmg:"
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 7 * 24 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBroker{
		cfg:     cfg,
		rdb:     cfg.Client,
		log:     log.With("component", "chat-redis"),
		ctx:     ctx,
		cancel:  cancel,
		subs:    make(map[string]map[uint64]func([]byte)),
		waiters: make(map[string][]chan struct{}),
	}
	// Subscribing with no channel creates the PubSub without connecting;
	// the reader connects and go-redis resubscribes after every reconnect.
	b.ps = b.rdb.Subscribe(ctx)
	b.wg.Add(1)
	go b.receive()
	return b, nil
}

// Close stops the subscription reader. It does not close the Redis client.
func (b *RedisBroker) Close() error {
	b.once.Do(func() {
		b.cancel()
		_ = b.ps.Close()
		b.wg.Wait()
	})
	return nil
}

func (b *RedisBroker) key(format, gigID string) string {
	return b.cfg.Prefix + fmt.Sprintf(format, gigID)
}

// Publish sends msg on the gig's channel.
func (b *RedisBroker) Publish(ctx context.Context, gigID string, msg []byte) error {
	if err := b.rdb.Publish(ctx, b.key(keyChatChannel, gigID), msg).Err(); err != nil {
		return fmt.Errorf("publish gig %s: %w", gigID, err)
	}
	return nil
}

// Subscribe registers h and waits until Redis confirms the subscription.
func (b *RedisBroker) Subscribe(ctx context.Context, gigID string, h func([]byte)) (func(), error) {
	ch := b.key(keyChatChannel, gigID)
	b.mu.Lock()
	if b.ctx.Err() != nil {
		b.mu.Unlock()
		return func() {}, ErrClosed
	}
	b.nextID++
	id := b.nextID
	first := len(b.subs[ch]) == 0
	if first {
		b.subs[ch] = make(map[uint64]func([]byte))
	}
	b.subs[ch][id] = h
	var wait chan struct{}
	if first {
		wait = make(chan struct{})
		b.waiters[ch] = append(b.waiters[ch], wait)
	}
	b.mu.Unlock()

	var once sync.Once
	unsubscribe := func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs[ch], id)
			last := len(b.subs[ch]) == 0
			if last {
				delete(b.subs, ch)
			}
			b.mu.Unlock()
			if last {
				uctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
				defer cancel()
				// On failure go-redis has forgotten the channel anyway, so the
				// next reconnect does not resubscribe it.
				_ = b.ps.Unsubscribe(uctx, ch)
			}
		})
	}
	if !first {
		return unsubscribe, nil
	}
	// go-redis records the channel even when the command fails, and
	// resubscribes it on every reconnect.
	if err := b.ps.Subscribe(ctx, ch); err != nil {
		return unsubscribe, fmt.Errorf("subscribe gig %s: %w", gigID, err)
	}
	select {
	case <-wait:
		return unsubscribe, nil
	case <-ctx.Done():
		// Nobody waits any more: when Redis confirms the subscription
		// later, h hears it as a resubscription (h(nil)) and resyncs.
		b.mu.Lock()
		b.waiters[ch] = slices.DeleteFunc(b.waiters[ch], func(w chan struct{}) bool { return w == wait })
		if len(b.waiters[ch]) == 0 {
			delete(b.waiters, ch)
		}
		b.mu.Unlock()
		return unsubscribe, fmt.Errorf("subscribe gig %s: %w", gigID, ctx.Err())
	}
}

// receive reads the subscription connection until Close.
func (b *RedisBroker) receive() {
	defer b.wg.Done()
	redissub.Receive(b.ctx, b.ps, b.log, redissub.Config{Name: "chat relay subscription", MaxBackoff: 2 * time.Second}, func(msg any) {
		switch m := msg.(type) {
		case *redis.Message:
			b.mu.Lock()
			hs := make([]func([]byte), 0, len(b.subs[m.Channel]))
			for _, h := range b.subs[m.Channel] {
				hs = append(hs, h)
			}
			b.mu.Unlock()
			for _, h := range hs {
				h([]byte(m.Payload))
			}
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				return
			}
			b.mu.Lock()
			ws := b.waiters[m.Channel]
			delete(b.waiters, m.Channel)
			var hs []func([]byte)
			if len(ws) == 0 {
				// Nobody asked: go-redis resubscribed after a reconnect
				// (or a Subscribe gave up waiting). Tell the handlers.
				for _, h := range b.subs[m.Channel] {
					hs = append(hs, h)
				}
			}
			b.mu.Unlock()
			for _, w := range ws {
				close(w)
			}
			for _, h := range hs {
				h(nil)
			}
		}
	})
}

// AppendHistory pushes m and trims the list to limit in one transaction.
func (b *RedisBroker) AppendHistory(ctx context.Context, gigID string, m Message, limit int) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("append history gig %s: %w", gigID, err)
	}
	k := b.key(keyChatHistory, gigID)
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, k, data)
		p.LTrim(ctx, k, int64(-limit), -1)
		p.Expire(ctx, k, b.cfg.StateTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("append history gig %s: %w", gigID, err)
	}
	return nil
}

// History returns up to limit newest messages, oldest first.
func (b *RedisBroker) History(ctx context.Context, gigID string, limit int) ([]Message, error) {
	raw, err := b.rdb.LRange(ctx, b.key(keyChatHistory, gigID), int64(-limit), -1).Result()
	if err != nil {
		return nil, fmt.Errorf("history gig %s: %w", gigID, err)
	}
	out := make([]Message, 0, len(raw))
	for _, r := range raw {
		var m Message
		if json.Unmarshal([]byte(r), &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// DeleteHistory removes the message with msgID from the list.
func (b *RedisBroker) DeleteHistory(ctx context.Context, gigID, msgID string) error {
	k := b.key(keyChatHistory, gigID)
	raw, err := b.rdb.LRange(ctx, k, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("delete history gig %s: %w", gigID, err)
	}
	for _, r := range raw {
		var m Message
		if json.Unmarshal([]byte(r), &m) == nil && m.ID == msgID {
			if err := b.rdb.LRem(ctx, k, 0, r).Err(); err != nil {
				return fmt.Errorf("delete history gig %s: %w", gigID, err)
			}
		}
	}
	return nil
}

// Heartbeat stores "viewers:expiresUnixMilli" under nodeID.
func (b *RedisBroker) Heartbeat(ctx context.Context, gigID, nodeID string, viewers int, ttl time.Duration) error {
	k := b.key(keyPresence, gigID)
	var err error
	if viewers <= 0 {
		err = b.rdb.HDel(ctx, k, nodeID).Err()
	} else {
		v := strconv.Itoa(viewers) + ":" + strconv.FormatInt(time.Now().Add(ttl).UnixMilli(), 10)
		_, err = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k, nodeID, v)
			// The whole hash goes when every node has stopped heartbeating;
			// NX then GT (Redis 7) so a short TTL never cuts a longer one.
			keyTTL := ttl.Truncate(time.Second) + time.Second
			p.ExpireNX(ctx, k, keyTTL)
			p.ExpireGT(ctx, k, keyTTL)
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("heartbeat gig %s: %w", gigID, err)
	}
	return nil
}

// Presence returns unexpired counts per node and prunes expired entries.
func (b *RedisBroker) Presence(ctx context.Context, gigID string) (map[string]int, error) {
	k := b.key(keyPresence, gigID)
	all, err := b.rdb.HGetAll(ctx, k).Result()
	if err != nil {
		return nil, fmt.Errorf("presence gig %s: %w", gigID, err)
	}
	now := time.Now().UnixMilli()
	out := make(map[string]int, len(all))
	var stale []string
	for node, v := range all {
		cnt, exp, ok := strings.Cut(v, ":")
		n, err1 := strconv.Atoi(cnt)
		e, err2 := strconv.ParseInt(exp, 10, 64)
		if !ok || err1 != nil || err2 != nil || e <= now {
			stale = append(stale, node)
			continue
		}
		out[node] = n
	}
	if len(stale) > 0 {
		_ = b.rdb.HDel(ctx, k, stale...).Err() // best effort: readers skip them anyway
	}
	return out, nil
}

// Restrict stores or removes one restriction.
func (b *RedisBroker) Restrict(ctx context.Context, gigID string, r Restriction) error {
	k := b.key(keyChatModeration, gigID)
	var err error
	if r.removes(time.Now()) {
		err = b.rdb.HDel(ctx, k, r.field()).Err()
	} else {
		data, _ := json.Marshal(r)
		_, err = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k, r.field(), data)
			p.Expire(ctx, k, b.cfg.StateTTL)
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("restrict gig %s: %w", gigID, err)
	}
	return nil
}

// Restrictions returns the gig's unexpired restrictions.
func (b *RedisBroker) Restrictions(ctx context.Context, gigID string) ([]Restriction, error) {
	k := b.key(keyChatModeration, gigID)
	all, err := b.rdb.HGetAll(ctx, k).Result()
	if err != nil {
		return nil, fmt.Errorf("restrictions gig %s: %w", gigID, err)
	}
	now := time.Now()
	var out []Restriction
	var stale []string
	for f, v := range all {
		var r Restriction
		if json.Unmarshal([]byte(v), &r) != nil || r.removes(now) {
			stale = append(stale, f)
			continue
		}
		out = append(out, r)
	}
	if len(stale) > 0 {
		_ = b.rdb.HDel(ctx, k, stale...).Err()
	}
	return out, nil
}

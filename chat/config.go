package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// Config configures a Hub. Zero values take the documented defaults.
type Config struct {
	// NodeID names this node in the broker; it must differ between nodes.
	// Default: random.
	NodeID string
	// HistorySize is how many messages a joiner receives. Default 100.
	HistorySize int
	// MaxTextRunes caps a message's text. Default 500.
	MaxTextRunes int
	// MaxFrameBytes caps one incoming frame. Default 4096.
	MaxFrameBytes int
	// RateBurst messages per RateWindow are allowed per connection; one more
	// starts a RateTimeout during which messages are refused. Defaults 3, 2 s, 5 s.
	RateBurst   int
	RateWindow  time.Duration
	RateTimeout time.Duration
	// MaxConnsPerIP caps chat connections per client address on this node. Default 20.
	MaxConnsPerIP int
	// SendQueue bounds each connection's outgoing queue in batches (frames
	// that leave together, see Coalesce). Default 256.
	SendQueue int
	// Coalesce is the fan-out coalescing window: frames a room gets within
	// it of its last write leave together at the window's end (see
	// room.broadcast). Default 20 ms; negative turns it off.
	Coalesce time.Duration
	// PingInterval is the WebSocket keepalive period; a connection that
	// answers no ping within two periods is dropped. Default 20 s.
	PingInterval time.Duration
	// WriteTimeout bounds one write to a client. Default 10 s.
	WriteTimeout time.Duration
	// HeartbeatInterval is how often this node refreshes its presence entries. Default 5 s.
	HeartbeatInterval time.Duration
	// PresenceTTL is how long a node's presence entry counts without a refresh. Default 30 s.
	PresenceTTL time.Duration
	// PresencePush is the coalescing period of presence updates to rooms. Default 1 s.
	PresencePush time.Duration
	// BrokerTimeout bounds every broker call. Default 2 s.
	BrokerTimeout time.Duration
	// RelayQueue bounds the events waiting to be relayed to other nodes. Default 4096.
	RelayQueue int
	// TrustedProxyHeader, when set (e.g. "X-Forwarded-For"), names the header
	// whose last address is taken as the client IP. Only set it behind a proxy
	// that overwrites or appends to that header.
	TrustedProxyHeader string
	// Authorize checks a creator's manage token for a gig; nil means nobody can moderate.
	Authorize func(ctx context.Context, gigID, token string) error
	// Gate admits joiners of ticketed gigs: a join's "ticket" (or "token")
	// is checked with Gate.Admit, a ticket holder chats under the ticket's
	// name and a user id stable per ticket (TicketUserID), and the
	// connection closes when the ticket is revoked. nil means every gig is
	// open.
	Gate access.Gate
	// CheckOrigin filters WebSocket origins; nil allows every origin (chat
	// carries no cookies, and players are embedded on other sites).
	CheckOrigin func(r *http.Request) bool
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.NodeID == "" {
		c.NodeID = randomHex(8)
	}
	def(&c.HistorySize, 100)
	def(&c.MaxTextRunes, 500)
	def(&c.MaxFrameBytes, 4096)
	def(&c.RateBurst, 3)
	defd(&c.RateWindow, 2*time.Second)
	defd(&c.RateTimeout, 5*time.Second)
	def(&c.MaxConnsPerIP, 20)
	def(&c.SendQueue, 256)
	defd(&c.Coalesce, 20*time.Millisecond)
	defd(&c.PingInterval, 20*time.Second)
	defd(&c.WriteTimeout, 10*time.Second)
	defd(&c.HeartbeatInterval, 5*time.Second)
	defd(&c.PresenceTTL, 30*time.Second)
	defd(&c.PresencePush, time.Second)
	defd(&c.BrokerTimeout, 2*time.Second)
	def(&c.RelayQueue, 4096)
	for name, v := range map[string]int{
		"HistorySize": c.HistorySize, "MaxTextRunes": c.MaxTextRunes, "MaxFrameBytes": c.MaxFrameBytes,
		"RateBurst": c.RateBurst, "MaxConnsPerIP": c.MaxConnsPerIP, "SendQueue": c.SendQueue, "RelayQueue": c.RelayQueue,
	} {
		if v < 0 {
			return c, fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, name)
		}
	}
	for name, v := range map[string]time.Duration{
		"RateWindow": c.RateWindow, "RateTimeout": c.RateTimeout, "PingInterval": c.PingInterval,
		"WriteTimeout": c.WriteTimeout, "HeartbeatInterval": c.HeartbeatInterval, "PresenceTTL": c.PresenceTTL,
		"PresencePush": c.PresencePush, "BrokerTimeout": c.BrokerTimeout,
	} {
		if v < 0 {
			return c, fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, name)
		}
	}
	if c.HeartbeatInterval >= c.PresenceTTL {
		return c, fmt.Errorf("%w: HeartbeatInterval (%s) must be shorter than PresenceTTL (%s)", ErrInvalidConfig, c.HeartbeatInterval, c.PresenceTTL)
	}
	if c.MaxFrameBytes < 256 {
		return c, fmt.Errorf("%w: MaxFrameBytes must be at least 256", ErrInvalidConfig)
	}
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

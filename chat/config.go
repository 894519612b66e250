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
	// MediaViewers reports this node's media viewers, who count in every
	// gig's presence with the chat members. nil: chat members only.
	MediaViewers MediaViewers
	// BrokerTimeout bounds every broker call. Default 2 s.
	BrokerTimeout time.Duration
	// RelayQueue bounds the events waiting to be relayed to other nodes. Default 4096.
	RelayQueue int
	// RelayRetry is how long a failed broker write (history, moderation
	// state, relay to other nodes) is retried, with backoff, before it is
	// given up; writes keep their order meanwhile and never hold up local
	// chat. A moderation action given up is reported to the creator's
	// connection ("moderation_not_saved"). Default 30 s; negative: no retry.
	RelayRetry time.Duration
	// ClientIP answers the client address of a WebSocket request (cmd
	// passes clientip.Resolver.String, which honours --trusted-proxies).
	// nil, or an empty answer, means the peer's host. Per-address caps,
	// failed-join limits and address bans use it.
	ClientIP func(r *http.Request) string
	// GuestKey signs guest ids (the stable identity of chat users without a
	// ticket) and salts the hashes of client addresses stored with bans. It
	// must be the same on every node (SharedGuestKey on Redis) and at least
	// 32 bytes. nil: a random key for this hub (single node; guest ids do
	// not survive a restart).
	GuestKey []byte
	// GuestTTL is how long a guest id stays valid; a page that comes back
	// with an older one gets a new identity. Default 30 days.
	GuestTTL time.Duration
	// AddressBan is how long a banned guest's address refuses identities
	// created after the ban (a joiner without a guest id, or with one minted
	// since): the banned user cannot come back by clearing the page's
	// storage, while the people who share the address and chatted before
	// are not affected. Default 1 h; negative: no address bans.
	AddressBan time.Duration
	// AuthFailLimit failed credential joins (a wrong manage token, a
	// refused ticket) per AuthFailWindow are allowed per client address on
	// this node; after that joins with credentials from the address are
	// refused with rate_limited and the connection closed. Defaults 5, 1 min.
	AuthFailLimit  int
	AuthFailWindow time.Duration
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
	defd(&c.RelayRetry, 30*time.Second)
	defd(&c.GuestTTL, 30*24*time.Hour)
	defd(&c.AddressBan, time.Hour)
	def(&c.AuthFailLimit, 5)
	defd(&c.AuthFailWindow, time.Minute)
	if c.GuestKey == nil {
		c.GuestKey = make([]byte, guestKeyLen)
		_, _ = rand.Read(c.GuestKey)
	} else if len(c.GuestKey) < guestKeyLen {
		return c, fmt.Errorf("%w: GuestKey must be at least %d bytes", ErrInvalidConfig, guestKeyLen)
	}
	for name, v := range map[string]int{
		"HistorySize": c.HistorySize, "MaxTextRunes": c.MaxTextRunes, "MaxFrameBytes": c.MaxFrameBytes,
		"RateBurst": c.RateBurst, "MaxConnsPerIP": c.MaxConnsPerIP, "SendQueue": c.SendQueue, "RelayQueue": c.RelayQueue,
		"AuthFailLimit": c.AuthFailLimit,
	} {
		if v < 0 {
			return c, fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, name)
		}
	}
	for name, v := range map[string]time.Duration{
		"RateWindow": c.RateWindow, "RateTimeout": c.RateTimeout, "PingInterval": c.PingInterval,
		"WriteTimeout": c.WriteTimeout, "HeartbeatInterval": c.HeartbeatInterval, "PresenceTTL": c.PresenceTTL,
		"PresencePush": c.PresencePush, "BrokerTimeout": c.BrokerTimeout,
		"GuestTTL": c.GuestTTL, "AuthFailWindow": c.AuthFailWindow,
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

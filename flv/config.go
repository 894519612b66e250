package flv

import (
	"net"
	"net/http"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// Config configures the HTTP-FLV / WS-FLV handler. Zero fields take the
// documented defaults.
type Config struct {
	// CORSOrigins are the origins whose pages may play streams ("*" = any),
	// checked one by one like the API's: a listed Origin is echoed in
	// Access-Control-Allow-Origin (with Vary: Origin), any other gets no
	// CORS headers, and WebSocket upgrades from an unlisted Origin are
	// refused (403). Default ["*"].
	CORSOrigins []string
	// AllowOrigin is one allowed origin; it is used only when CORSOrigins
	// is empty.
	//
	// Deprecated: use CORSOrigins.
	AllowOrigin string
	// MaxViewers caps each gig's HTTP-FLV and WS-FLV viewers on this node:
	// one more is answered 503 viewer_cap. Default 1000; negative: no cap.
	MaxViewers int
	// MaxViewersPerIP caps the FLV and WS-FLV connections of one client
	// address (an IPv6 address counts by its /64) on this node, over every
	// gig: one more is answered 429 too_many_connections. Default 10;
	// negative: no cap.
	MaxViewersPerIP int
	// ClientIP returns the client's address for MaxViewersPerIP and logs
	// (behind a trusted proxy, from X-Forwarded-For). Nil: the connection's
	// peer address.
	ClientIP func(r *http.Request) string
	// QueueTags bounds each viewer's queue of tags (shared buffers, so this
	// costs 8 bytes per slot). A viewer whose queue fills skips to the next
	// keyframe. Default 512 (~6 s of 30 fps video + AAC).
	QueueTags int
	// StallTimeout drops a viewer whose connection accepts no bytes for this
	// long. Default 5 s.
	StallTimeout time.Duration
	// TrackWait is how long a request for a stream that just went live
	// waits for its sequence headers. Default 5 s.
	TrackWait time.Duration
	// ReconnectGrace keeps the viewers of a stream that ended connected
	// (nothing is written) this long, so they continue on the same
	// connection when a new stream of the gig is published meanwhile (the
	// creator's encoder reconnects, an edge's relay switches origin).
	// Default 5 s; negative: viewers end with the stream.
	ReconnectGrace time.Duration
	// Gate admits viewers (?ticket=, or Authorization: Bearer; optional
	// ?screen=) and ends their connections when their Pass ends. Nil:
	// every gig is open.
	Gate access.Gate
}

func (c Config) withDefaults() Config {
	if len(c.CORSOrigins) == 0 {
		c.CORSOrigins = []string{"*"}
		if c.AllowOrigin != "" {
			c.CORSOrigins = []string{c.AllowOrigin}
		}
	}
	if c.MaxViewers == 0 {
		c.MaxViewers = 1000
	}
	if c.MaxViewersPerIP == 0 {
		c.MaxViewersPerIP = 10
	}
	if c.ClientIP == nil {
		c.ClientIP = peerHost
	}
	if c.QueueTags <= 0 {
		c.QueueTags = 512
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 5 * time.Second
	}
	if c.TrackWait <= 0 {
		c.TrackWait = 5 * time.Second
	}
	if c.ReconnectGrace == 0 {
		c.ReconnectGrace = 5 * time.Second
	}
	return c
}

func peerHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

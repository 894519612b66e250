package whip

import (
	"net"
	"net/http"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/rtc"
)

// Config configures the WHIP server. cmd fills it from flags.
type Config struct {
	// Keys resolves WHIP publishers' stream keys (Authorization: Bearer).
	// Nil: WHIP answers 503 "publishing over WHIP is not configured".
	Keys access.KeyResolver
	// PublisherTimeout ends a WHIP broadcast (or a pull) that sent no RTP
	// for this long (network loss, tab closed without a DELETE). Default
	// 3 s.
	PublisherTimeout time.Duration
	// ConnectTimeout closes a WHIP session whose connection (ICE and DTLS)
	// is not up this long after the answer. Default 5 s.
	ConnectTimeout time.Duration
	// GOPMaxBytes caps the streams' GOP caches. Default 16 MiB.
	GOPMaxBytes int
	// Signaling is what WHIP shares with WHEP (sfu.Config.Signal): CORS
	// origins, the SDP size cap (default 64 KiB), the ICE servers announced
	// in Link headers, the remote candidate filter.
	Signaling rtc.SignalConfig
	// ClientIP returns the client's address (behind a trusted proxy, from
	// X-Forwarded-For), for logs. Default: the request's remote host.
	ClientIP func(r *http.Request) string
}

func (c *Config) setDefaults() {
	if c.Signaling.MaxSDPBytes <= 0 {
		c.Signaling.MaxSDPBytes = 64 << 10
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.GOPMaxBytes <= 0 {
		c.GOPMaxBytes = 16 << 20
	}
	if c.PublisherTimeout <= 0 {
		c.PublisherTimeout = 3 * time.Second
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteHost
	}
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

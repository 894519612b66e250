package sfu

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/webrtc/v4"
)

// ICEServer is a STUN or TURN server announced to viewers in `Link` headers
// (RFC 8288 rel="ice-server", as WHIP/WHEP specify).
type ICEServer = rtc.ICEServer

// Config configures the SFU. cmd fills it from flags.
type Config struct {
	// ICEAddr is the single ICE port (New opens it; WHIP ingest shares it,
	// see Port): a UDP mux serves every viewer on it
	// and, unless DisableICETCP, ICE-TCP listens on the same port number for
	// networks that block UDP. An empty host means every interface. Port 0
	// picks a free port (tests). Default ":8189".
	ICEAddr string
	// PionViewers serves every WHEP viewer with pion's PeerConnection.
	// By default a viewer of an H.264 stream without a data channel gets
	// our own transport (internal/icelite: ICE-lite on the same ports, a
	// DTLS server whose keys feed SRTP written straight to the socket),
	// which costs less CPU and memory per viewer; pion serves the others
	// (data channels, VP8, relays) and WHIP publishers. For comparisons.
	PionViewers bool
	// DisableICETCP turns the ICE-TCP listener off.
	DisableICETCP bool
	// PublicIPs replace the host candidates' addresses (1:1 NAT: a cloud VM
	// that only knows its private address).
	PublicIPs []string
	// PublicHost is resolved once in New; its addresses join PublicIPs.
	PublicHost string
	// IncludeLoopback offers loopback candidates (single-machine setups and
	// tests). Implied when ICEAddr's host is a loopback address.
	IncludeLoopback bool
	// ICEServers are announced to viewers in Link headers.
	ICEServers []ICEServer
	// MaxViewers caps each gig's WebRTC (WHEP) sessions on this node (0 =
	// no cap): a POST for a gig that already has this many gets 503, while
	// other gigs still accept viewers.
	MaxViewers int
	// MaxSessionsPerIP caps the WHEP sessions of one client address (an
	// IPv6 address counts by its /64) on this node, over every gig: one
	// client cannot fill a gig's MaxViewers. A session counts from its
	// POST until it ends, connected or not. Default 10; negative: no cap.
	MaxSessionsPerIP int
	// OfferRate is how many WHEP offers one client address may POST per
	// OfferWindow; more are answered 429 with Retry-After. Default 20;
	// negative: no limit.
	OfferRate int
	// OfferWindow is OfferRate's window. Default 10 s.
	OfferWindow time.Duration
	// AllowPrivateCandidates keeps remote ICE candidates with loopback,
	// private (RFC 1918, fc00::/7), link-local or other non-public
	// addresses that WHIP/WHEP clients name in offers and trickle PATCHes.
	// By default they are dropped, so nobody can make the server send
	// connectivity checks (or dial ICE-TCP) into its own network. Clients
	// that reach the server from such an address still connect: their
	// checks make it learn the address (peer-reflexive), which is only ever
	// an address that really sent us authenticated STUN.
	AllowPrivateCandidates bool
	// CORSOrigins may call the WHEP endpoints from a browser on another
	// origin ("*" = any).
	CORSOrigins []string
	// MaxSDPBytes caps an offer or trickle body. Default 64 KiB.
	MaxSDPBytes int64
	// ConnectTimeout closes a WHEP session whose connection (ICE and
	// DTLS) is not up this long after the answer; until then it holds a
	// viewer slot. Default 5 s.
	ConnectTimeout time.Duration
	// NACKHistory is how many packets per stream are kept for
	// retransmission beyond the current GOP. Default 2048.
	NACKHistory int
	// GOPMaxBytes caps a stream's RTP GOP cache; a larger GOP makes new
	// viewers wait for the next keyframe. Default 16 MiB.
	GOPMaxBytes int
	// CatchUpBitrate caps how fast a new viewer receives the cached GOP
	// after the first CatchUpBurstBytes (which hold the keyframe), in bits
	// per second; a flood would overrun the viewer's socket buffer and the
	// path to it. Default 20 Mbit/s: a 4 s GOP at 2.5 Mbit/s catches up in
	// about 0.6 s.
	CatchUpBitrate int
	// CatchUpBurstBytes is the token bucket size. Default 64 KiB: about 50 packets, which a default Linux socket receive buffer (accounted at ~2 KiB per packet) still holds.
	CatchUpBurstBytes int
	// OnDataChannel receives every "chat" data channel a viewer opens on its
	// PeerConnection (nil: such channels are closed).
	OnDataChannel func(gigID, remoteIP string, dc *webrtc.DataChannel)
	// ReconnectGrace keeps WebRTC viewers of a stream that ended connected
	// this long, so they continue on the same session when the creator
	// comes back (RTMP or WHIP) instead of reloading. Default 5 s;
	// negative: sessions end with the stream.
	ReconnectGrace time.Duration
	// Gate admits WHEP viewers (Authorization: Bearer <ticket>, optional
	// ?screen=) and ends their sessions when their Pass ends. Nil: every
	// gig is open. WHIP publishing does not use it.
	Gate access.Gate
	// RelayAuth reports whether a WHEP POST's Bearer token is the cluster's
	// relay token: such a request is another node pulling the gig (a relay
	// session): no Gate, caps or offer rate limit, private candidates kept,
	// not counted as a viewer (RelaySessions counts it), 404 unless the gig
	// is live on this very node, and the stream's AAC offered as RFC 3640.
	// Nil: no relays.
	RelayAuth func(token string) bool
	// ClientIP returns the client's address (behind a trusted proxy, from
	// X-Forwarded-For) for OnDataChannel, MaxSessionsPerIP and OfferRate.
	// Default: the request's remote host.
	ClientIP func(r *http.Request) string
}

func (c *Config) setDefaults() {
	if c.ICEAddr == "" {
		c.ICEAddr = ":8189"
	}
	if c.MaxSDPBytes <= 0 {
		c.MaxSDPBytes = 64 << 10
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.MaxSessionsPerIP == 0 {
		c.MaxSessionsPerIP = 10
	}
	if c.OfferRate == 0 {
		c.OfferRate = 20
	}
	if c.OfferWindow <= 0 {
		c.OfferWindow = 10 * time.Second
	}
	if c.NACKHistory <= 0 {
		c.NACKHistory = 2048
	}
	if c.GOPMaxBytes <= 0 {
		c.GOPMaxBytes = 16 << 20
	}
	if c.CatchUpBitrate <= 0 {
		c.CatchUpBitrate = 20_000_000
	}
	if c.CatchUpBurstBytes <= 0 {
		c.CatchUpBurstBytes = 64 << 10
	}
	if c.ReconnectGrace == 0 {
		c.ReconnectGrace = 5 * time.Second
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteHost
	}
}

func (c *Config) validate() error {
	for _, s := range c.ICEServers {
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
				!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return fmt.Errorf("ice server url %q: %w", u, ErrConfig)
			}
		}
	}
	if c.MaxViewers < 0 {
		return fmt.Errorf("max viewers %d: %w", c.MaxViewers, ErrConfig)
	}
	return nil
}

// signal is the signalling settings WHIP ingest shares (Signal).
func (c *Config) signal() rtc.SignalConfig {
	return rtc.SignalConfig{
		CORSOrigins:            c.CORSOrigins,
		MaxSDPBytes:            c.MaxSDPBytes,
		ICEServers:             c.ICEServers,
		AllowPrivateCandidates: c.AllowPrivateCandidates,
	}
}

// Signal returns the signalling settings (CORS, SDP size cap, ICE servers,
// candidate filter) with defaults applied, for WHIP ingest to share.
func (c Config) Signal() rtc.SignalConfig {
	c.setDefaults()
	return c.signal()
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

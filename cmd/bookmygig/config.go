package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/internal/clientip"
	"github.com/bookmygig/bookmygig/internal/ratelimit"
	"github.com/bookmygig/bookmygig/internal/redisconn"
)

// Config is the whole server configuration, filled from flags with
// environment fallbacks (BMG_...) and validated once.
type Config struct {
	HTTPAddr        string
	RTMPAddr        string
	Redis           string
	LogFormat       string
	LogLevel        string
	PublicHost      string
	WebRTCPort      int
	WebRTCPublicIPs []string
	ICEServers      []string
	MaxViewers      int
	OpusBitrate     int
	OpusComplexity  int
	CORSOrigins     []string
	ShutdownTimeout time.Duration
	NodeID          string
	Pprof           bool
	PublicURL       string
	TrustedProxies  []string
	GigCreateLimit  ratelimit.Rule
	BookingLimit    ratelimit.Rule
	FrameAncestors  []string
	EndedRetention  time.Duration

	// Cluster: nodes on one Redis relay each other's gigs.
	ClusterSecret  string
	RelayFanout    int
	MaxNodeViewers int
	NodeRelayURL   string
	NodePublicURL  string
	RelayIdle      time.Duration

	// WebRTC and FLV viewer limits per client address.
	WebRTCMaxSessionsPerIP       int
	WHEPOfferLimit               ratelimit.Rule
	WebRTCConnectTimeout         time.Duration
	WebRTCAllowPrivateCandidates bool
	FLVMaxViewers                int
	FLVMaxViewersPerIP           int

	// Payments (Stripe Checkout); empty keys leave paid booking off.
	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIBase       string

	// Limits on what comes from outside.
	MaxBodyBytes         int64
	MaxSDPBytes          int64
	HTTPHeaderTimeout    time.Duration
	HTTPIdleTimeout      time.Duration
	HTTPBodyTimeout      time.Duration
	RTMPMaxConns         int
	RTMPHandshakeTimeout time.Duration
	RTMPReadTimeout      time.Duration
	RTMPPublishTimeout   time.Duration
	RTMPMaxConnsPerIP    int
	ChatMaxConnsPerIP    int
	ChatRateBurst        int
	ChatCoalesce         time.Duration
	ChatRateWindow       time.Duration
	ChatRateTimeout      time.Duration
	ChatMaxTextChars     int
}

// option is one flag with its environment variable.
type option struct {
	name, env, def, usage string
	check                 func(string) error
	set                   func(*Config, string)
	secret                bool
}

func options() []option {
	return []option{
		{name: "http-addr", env: "BMG_HTTP_ADDR", def: ":8080", usage: "HTTP listen address: API, web UI, WHIP/WHEP, HTTP-FLV, chat",
			check: checkAddr, set: func(c *Config, v string) { c.HTTPAddr = v }},
		{name: "rtmp-addr", env: "BMG_RTMP_ADDR", def: ":1935", usage: "RTMP listen address for OBS/ffmpeg publishers (empty disables RTMP)",
			check: checkOptionalAddr, set: func(c *Config, v string) { c.RTMPAddr = v }},
		{name: "redis", env: "BMG_REDIS", def: "", usage: "Redis URL: redis://[:password@]host:port/db, or through Sentinel redis-sentinel://[:password@]host:port[,host:port...]/master[/db] (gig writes then wait for 1 replica: ?wait_replicas=N, ?wait_timeout=300ms, ?sentinel_password=...); empty runs on the embedded in-memory engine",
			check: checkRedisURL, set: func(c *Config, v string) { c.Redis = v }, secret: true},
		{name: "log-format", env: "BMG_LOG_FORMAT", def: "text", usage: "log format: text or json",
			check: oneOf("text", "json"), set: func(c *Config, v string) { c.LogFormat = v }},
		{name: "log-level", env: "BMG_LOG_LEVEL", def: "info", usage: "log level: debug, info, warn or error",
			check: oneOf("debug", "info", "warn", "error"), set: func(c *Config, v string) { c.LogLevel = v }},
		{name: "public-host", env: "BMG_PUBLIC_HOST", def: "", usage: "host name shown to creators in RTMP/WHIP URLs (default: the Host of each request)",
			check: func(string) error { return nil }, set: func(c *Config, v string) { c.PublicHost = v }},
		{name: "webrtc-port", env: "BMG_WEBRTC_PORT", def: "8189", usage: "UDP and TCP port shared by all WebRTC ICE traffic (0 = ephemeral ports)",
			check: intRange(0, 65535), set: func(c *Config, v string) { c.WebRTCPort, _ = strconv.Atoi(v) }},
		{name: "webrtc-public-ip", env: "BMG_WEBRTC_PUBLIC_IP", def: "", usage: "comma-separated public IPs announced in ICE candidates, for servers behind NAT",
			check: checkIPList, set: func(c *Config, v string) { c.WebRTCPublicIPs = splitList(v) }},
		{name: "ice-servers", env: "BMG_ICE_SERVERS", def: "", usage: "comma-separated STUN/TURN URLs announced to WHIP/WHEP clients (turn:user:pass@host:port form allowed)",
			check: checkICEList, set: func(c *Config, v string) { c.ICEServers = splitList(v) }, secret: true},
		{name: "max-viewers", env: "BMG_MAX_VIEWERS", def: "1000", usage: "WebRTC viewers allowed per gig before WHEP answers 503",
			check: intRange(1, 1_000_000), set: func(c *Config, v string) { c.MaxViewers, _ = strconv.Atoi(v) }},
		{name: "opus-bitrate", env: "BMG_OPUS_BITRATE", def: "96000", usage: "Opus bitrate in bit/s for AAC sources transcoded for WebRTC viewers",
			check: intRange(6000, 510000), set: func(c *Config, v string) { c.OpusBitrate, _ = strconv.Atoi(v) }},
		{name: "opus-complexity", env: "BMG_OPUS_COMPLEXITY", def: "10", usage: "Opus encoder complexity 1-10 for transcoded AAC: lower costs less CPU per stream (10: ~14 ms, 5: ~8 ms per stream-second)",
			check: intRange(1, 10), set: func(c *Config, v string) { c.OpusComplexity, _ = strconv.Atoi(v) }},
		{name: "cors-origins", env: "BMG_CORS_ORIGINS", def: "*", usage: "comma-separated origins allowed to call the API and players from other sites (* = any)",
			check: func(string) error { return nil }, set: func(c *Config, v string) { c.CORSOrigins = splitList(v) }},
		{name: "shutdown-timeout", env: "BMG_SHUTDOWN_TIMEOUT", def: "8s", usage: "how long SIGINT/SIGTERM waits for in-flight requests before closing everything",
			check: durationRange(time.Second, time.Minute), set: func(c *Config, v string) { c.ShutdownTimeout, _ = time.ParseDuration(v) }},
		{name: "node-id", env: "BMG_NODE_ID", def: "", usage: "this node's name in a Redis cluster of nodes (default: hostname-pid)",
			check: func(string) error { return nil }, set: func(c *Config, v string) { c.NodeID = v }},
		{name: "trusted-proxies", env: "BMG_TRUSTED_PROXIES", def: "", usage: "comma-separated CIDRs or addresses of reverse proxies and load balancers whose X-Forwarded-For / Forwarded names the client; from anyone else those headers are ignored",
			check: checkCIDRList, set: func(c *Config, v string) { c.TrustedProxies = splitList(v) }},
		{name: "gig-create-limit", env: "BMG_GIG_CREATE_LIMIT", def: "10/1h", usage: "gigs one client address may create per window (N/duration; shared across nodes on Redis)",
			check: checkRate, set: func(c *Config, v string) { c.GigCreateLimit, _ = parseRate(v) }},
		{name: "booking-limit", env: "BMG_BOOKING_LIMIT", def: "30/10m", usage: "ticket bookings one client address may make per window (N/duration), so nobody books out a free gig's seats",
			check: checkRate, set: func(c *Config, v string) { c.BookingLimit, _ = parseRate(v) }},
		{name: "ended-retention", env: "BMG_ENDED_RETENTION", def: "720h", usage: "how long an ended gig, its stream key and its tickets are kept before they are removed (0 keeps them forever)",
			check: func(v string) error {
				if v == "0" {
					return nil
				}
				return durationRange(time.Hour, 10*365*24*time.Hour)(v)
			}, set: func(c *Config, v string) {
				c.EndedRetention = -1 // 0: keep forever
				if d, _ := time.ParseDuration(v); d > 0 {
					c.EndedRetention = d
				}
			}},
		{name: "frame-ancestors", env: "BMG_FRAME_ANCESTORS", def: "'self'", usage: "comma-separated origins allowed to show the web pages in a frame (CSP frame-ancestors; 'self' = this site only, 'none' = nobody)",
			check: checkFrameAncestors, set: func(c *Config, v string) { c.FrameAncestors = splitList(v) }},
		{name: "public-url", env: "BMG_PUBLIC_URL", def: "", usage: "scheme and host browsers reach the server on (https://gigs.example.com), for payment return URLs (default: from each request)",
			check: checkPublicURL, set: func(c *Config, v string) { c.PublicURL = v }},
		{name: "stripe-secret-key", env: "BMG_STRIPE_SECRET_KEY", def: "", usage: "Stripe secret key (sk_live_..., sk_test_... or rk_...) for paid booking through Stripe Checkout; empty turns paid booking off",
			check: checkPrefixed("sk_", "rk_"), set: func(c *Config, v string) { c.StripeSecretKey = v }, secret: true},
		{name: "stripe-webhook-secret", env: "BMG_STRIPE_WEBHOOK_SECRET", def: "", usage: "signing secret (whsec_...) of the Stripe webhook endpoint registered for /api/payments/stripe/webhook",
			check: checkPrefixed("whsec_"), set: func(c *Config, v string) { c.StripeWebhookSecret = v }, secret: true},
		{name: "stripe-api-base", env: "BMG_STRIPE_API_BASE", def: "", usage: "Stripe API base URL (default: Stripe's; tests point it at stripe-mock)",
			check: checkOptionalHTTPURL, set: func(c *Config, v string) { c.StripeAPIBase = v }},
		{name: "cluster-secret", env: "BMG_CLUSTER_SECRET", def: "", usage: "shared secret of the nodes of a cluster (with --redis): nodes pull live gigs from each other with a token derived from it; empty: media stays on the node it is published to",
			check: checkClusterSecret, set: func(c *Config, v string) { c.ClusterSecret = v }, secret: true},
		{name: "relay-fanout", env: "BMG_RELAY_FANOUT", def: "8", usage: "most nodes that pull one gig from one node (the origin or an edge); further nodes pull from edges",
			check: intRange(1, 1000), set: func(c *Config, v string) { c.RelayFanout, _ = strconv.Atoi(v) }},
		{name: "max-node-viewers", env: "BMG_MAX_NODE_VIEWERS", def: "0", usage: "media viewers on this node above which a WHEP offer is answered 307 to the least-loaded node of the cluster (0 = never steer)",
			check: intRange(0, 10_000_000), set: func(c *Config, v string) { c.MaxNodeViewers, _ = strconv.Atoi(v) }},
		{name: "node-relay-url", env: "BMG_NODE_RELAY_URL", def: "", usage: "URL other nodes reach this node's HTTP port on, for relays (http://10.0.0.2:8080; default: http://<hostname>:<http port>)",
			check: checkOptionalHTTPURL, set: func(c *Config, v string) { c.NodeRelayURL = v }},
		{name: "node-public-url", env: "BMG_NODE_PUBLIC_URL", def: "", usage: "URL viewers reach this node on directly, where full nodes steer WHEP viewers to (https://node2.gigs.example.com; default: --node-relay-url)",
			check: checkOptionalHTTPURL, set: func(c *Config, v string) { c.NodePublicURL = v }},
		{name: "relay-idle", env: "BMG_RELAY_IDLE", def: "10s", usage: "how long a node keeps pulling a gig from another node after its last viewer here left (a viewer who comes back finds it warm)",
			check: durationRange(100*time.Millisecond, time.Hour), set: func(c *Config, v string) { c.RelayIdle, _ = time.ParseDuration(v) }},
		{name: "pprof", env: "BMG_PPROF", def: "false", usage: "serve net/http/pprof under /debug/pprof/",
			check: checkBool, set: func(c *Config, v string) { c.Pprof, _ = strconv.ParseBool(v) }},

		{name: "webrtc-max-sessions-per-ip", env: "BMG_WEBRTC_MAX_SESSIONS_PER_IP", def: "10", usage: "WebRTC (WHEP) sessions one client address may hold on this node, connected or not (0 = no cap; IPv6: one /64)",
			check: intRange(0, 1_000_000), set: func(c *Config, v string) { c.WebRTCMaxSessionsPerIP = capOrNone(v) }},
		{name: "whep-offer-limit", env: "BMG_WHEP_OFFER_LIMIT", def: "20/10s", usage: "WHEP offers (POSTs) one client address may send per window (N/duration; 429 rate_limited over it)",
			check: checkRate, set: func(c *Config, v string) { c.WHEPOfferLimit, _ = parseRate(v) }},
		{name: "webrtc-connect-timeout", env: "BMG_WEBRTC_CONNECT_TIMEOUT", def: "5s", usage: "time a new WHEP/WHIP session has to connect (ICE) before it is dropped and its slot freed",
			check: durationRange(time.Second, time.Minute), set: func(c *Config, v string) { c.WebRTCConnectTimeout, _ = time.ParseDuration(v) }},
		{name: "webrtc-allow-private-candidates", env: "BMG_WEBRTC_ALLOW_PRIVATE_CANDIDATES", def: "false", usage: "accept private, loopback and link-local ICE candidates from clients (off: the server never sends media to internal addresses a client names; LAN and loopback clients still connect)",
			check: checkBool, set: func(c *Config, v string) { c.WebRTCAllowPrivateCandidates, _ = strconv.ParseBool(v) }},
		{name: "flv-max-viewers", env: "BMG_FLV_MAX_VIEWERS", def: "1000", usage: "HTTP-FLV and WS-FLV viewers per gig on this node before 503",
			check: intRange(1, 1_000_000), set: func(c *Config, v string) { c.FLVMaxViewers, _ = strconv.Atoi(v) }},
		{name: "flv-max-viewers-per-ip", env: "BMG_FLV_MAX_VIEWERS_PER_IP", def: "10", usage: "HTTP-FLV and WS-FLV connections one client address may hold on this node (0 = no cap; 429 over it)",
			check: intRange(0, 1_000_000), set: func(c *Config, v string) { c.FLVMaxViewersPerIP = capOrNone(v) }},

		{name: "max-body-bytes", env: "BMG_MAX_BODY_BYTES", def: "65536", usage: "largest JSON request body the API reads (413 above it)",
			check: intRange(1024, 16<<20), set: func(c *Config, v string) { c.MaxBodyBytes, _ = strconv.ParseInt(v, 10, 64) }},
		{name: "max-sdp-bytes", env: "BMG_MAX_SDP_BYTES", def: "65536", usage: "largest WHIP/WHEP SDP offer or trickle body (413 above it)",
			check: intRange(1024, 1<<20), set: func(c *Config, v string) { c.MaxSDPBytes, _ = strconv.ParseInt(v, 10, 64) }},
		{name: "http-header-timeout", env: "BMG_HTTP_HEADER_TIMEOUT", def: "10s", usage: "time a client has to send its request headers (slowloris guard)",
			check: durationRange(time.Second, 5*time.Minute), set: func(c *Config, v string) { c.HTTPHeaderTimeout, _ = time.ParseDuration(v) }},
		{name: "http-body-timeout", env: "BMG_HTTP_BODY_TIMEOUT", def: "10s", usage: "time a client has to send a request body (JSON, SDP, webhooks): slow-body guard (408 after it)",
			check: durationRange(time.Second, 5*time.Minute), set: func(c *Config, v string) { c.HTTPBodyTimeout, _ = time.ParseDuration(v) }},
		{name: "http-idle-timeout", env: "BMG_HTTP_IDLE_TIMEOUT", def: "2m", usage: "how long an idle keep-alive HTTP connection stays open",
			check: durationRange(time.Second, time.Hour), set: func(c *Config, v string) { c.HTTPIdleTimeout, _ = time.ParseDuration(v) }},
		{name: "rtmp-max-conns", env: "BMG_RTMP_MAX_CONNS", def: "256", usage: "concurrent RTMP connections accepted (publishers and half-open clients)",
			check: intRange(1, 100_000), set: func(c *Config, v string) { c.RTMPMaxConns, _ = strconv.Atoi(v) }},
		{name: "rtmp-handshake-timeout", env: "BMG_RTMP_HANDSHAKE_TIMEOUT", def: "5s", usage: "time an RTMP client has to finish the handshake",
			check: durationRange(100*time.Millisecond, time.Minute), set: func(c *Config, v string) { c.RTMPHandshakeTimeout, _ = time.ParseDuration(v) }},
		{name: "rtmp-publish-timeout", env: "BMG_RTMP_PUBLISH_TIMEOUT", def: "5s", usage: "time from connecting to publishing before an RTMP connection is closed (idle connections cannot hold the slots)",
			check: durationRange(time.Second, time.Minute), set: func(c *Config, v string) { c.RTMPPublishTimeout, _ = time.ParseDuration(v) }},
		{name: "rtmp-max-conns-per-ip", env: "BMG_RTMP_MAX_CONNS_PER_IP", def: "8", usage: "concurrent RTMP connections from one client address (IPv6: one /64)",
			check: intRange(1, 100_000), set: func(c *Config, v string) { c.RTMPMaxConnsPerIP, _ = strconv.Atoi(v) }},
		{name: "rtmp-read-timeout", env: "BMG_RTMP_READ_TIMEOUT", def: "10s", usage: "silence after which an RTMP publisher counts as gone and the show ends",
			check: durationRange(time.Second, 5*time.Minute), set: func(c *Config, v string) { c.RTMPReadTimeout, _ = time.ParseDuration(v) }},
		{name: "chat-max-conns-per-ip", env: "BMG_CHAT_MAX_CONNS_PER_IP", def: "20", usage: "chat connections allowed from one client address on this node",
			check: intRange(1, 100_000), set: func(c *Config, v string) { c.ChatMaxConnsPerIP, _ = strconv.Atoi(v) }},
		{name: "chat-rate-burst", env: "BMG_CHAT_RATE_BURST", def: "3", usage: "chat messages a connection may send per --chat-rate-window",
			check: intRange(1, 1000), set: func(c *Config, v string) { c.ChatRateBurst, _ = strconv.Atoi(v) }},
		{name: "chat-rate-window", env: "BMG_CHAT_RATE_WINDOW", def: "2s", usage: "window of the chat rate limit",
			check: durationRange(100*time.Millisecond, time.Hour), set: func(c *Config, v string) { c.ChatRateWindow, _ = time.ParseDuration(v) }},
		{name: "chat-rate-timeout", env: "BMG_CHAT_RATE_TIMEOUT", def: "5s", usage: "how long a sender over the chat rate limit is refused",
			check: durationRange(100*time.Millisecond, time.Hour), set: func(c *Config, v string) { c.ChatRateTimeout, _ = time.ParseDuration(v) }},
		{name: "chat-coalesce", env: "BMG_CHAT_COALESCE", def: "20ms", usage: "chat fan-out window: messages a busy room gets within it leave together, one write per member (0 turns it off)",
			check: durationRange(0, time.Second), set: func(c *Config, v string) { c.ChatCoalesce, _ = time.ParseDuration(v) }},
		{name: "chat-max-text-chars", env: "BMG_CHAT_MAX_TEXT_CHARS", def: "500", usage: "longest chat message, in characters",
			check: intRange(1, 2000), set: func(c *Config, v string) { c.ChatMaxTextChars, _ = strconv.Atoi(v) }},
	}
}

// errHelp is returned when --help was asked for.
var errHelp = flag.ErrHelp

// parseConfig reads args (without the program name) with env fallbacks.
// Errors name the option and are meant to be printed as one line.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	opts := options()
	fs := flag.NewFlagSet("bookmygig", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := make(map[string]*string, len(opts))
	for _, o := range opts {
		values[o.name] = fs.String(o.name, o.def, o.usage)
	}
	fs.Usage = func() { printUsage(usageOut, opts) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return Config{}, errHelp
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (options start with --)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var cfg Config
	for _, o := range opts {
		v, from := *values[o.name], "--"+o.name
		if !given[o.name] {
			if ev := getenv(o.env); ev != "" {
				v, from = ev, o.env
			}
		}
		if err := o.check(v); err != nil {
			return Config{}, fmt.Errorf("invalid %s (%s): %v", from, o.usage, err)
		}
		o.set(&cfg, v)
	}
	if cfg.ClusterSecret != "" && cfg.Redis == "" {
		return Config{}, errors.New("--cluster-secret needs --redis: the nodes of a cluster meet in Redis")
	}
	return cfg, nil
}

func printUsage(w io.Writer, opts []option) {
	fmt.Fprintln(w, "bookmygig: live gigs over RTMP/WHIP in, WebRTC (WHEP) and HTTP-FLV out, with chat.")
	fmt.Fprintln(w, "\nUsage: bookmygig [options]\n\nOptions (each also read from its environment variable):")
	for _, o := range opts {
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (env %s, default %s)\n      %s\n", o.name, o.env, def, o.usage)
	}
}

// redacted returns the configuration as log attributes with secrets hidden.
func (c Config) redacted() []any {
	redis := redisconn.Redact(c.Redis)
	engine := "memory"
	if c.Redis != "" {
		engine = "redis"
	}
	ice := make([]string, len(c.ICEServers))
	for i, s := range c.ICEServers {
		ice[i] = redactICE(s)
	}
	return []any{
		"http_addr", c.HTTPAddr, "rtmp_addr", c.RTMPAddr, "engine", engine, "redis", redis,
		"log_format", c.LogFormat, "log_level", c.LogLevel, "public_host", c.PublicHost,
		"webrtc_port", c.WebRTCPort, "webrtc_public_ip", strings.Join(c.WebRTCPublicIPs, ","),
		"ice_servers", strings.Join(ice, ","), "max_viewers", c.MaxViewers, "opus_bitrate", c.OpusBitrate, "opus_complexity", c.OpusComplexity,
		"cors_origins", strings.Join(c.CORSOrigins, ","), "shutdown_timeout", c.ShutdownTimeout.String(),
		"node_id", c.NodeID, "pprof", c.Pprof, "public_url", c.PublicURL, "trusted_proxies", strings.Join(c.TrustedProxies, ","), "frame_ancestors", strings.Join(c.FrameAncestors, " "),
		"ended_retention", c.EndedRetention.String(),
		"webrtc_max_sessions_per_ip", c.WebRTCMaxSessionsPerIP, "whep_offer_limit", fmt.Sprintf("%d/%s", c.WHEPOfferLimit.Limit, c.WHEPOfferLimit.Window),
		"webrtc_connect_timeout", c.WebRTCConnectTimeout.String(), "webrtc_allow_private_candidates", c.WebRTCAllowPrivateCandidates,
		"flv_max_viewers", c.FLVMaxViewers, "flv_max_viewers_per_ip", c.FLVMaxViewersPerIP, "gig_create_limit", fmt.Sprintf("%d/%s", c.GigCreateLimit.Limit, c.GigCreateLimit.Window), "booking_limit", fmt.Sprintf("%d/%s", c.BookingLimit.Limit, c.BookingLimit.Window),
		"paid_booking", c.StripeSecretKey != "" && c.StripeWebhookSecret != "", "stripe_api_base", c.StripeAPIBase,
		"max_body_bytes", c.MaxBodyBytes, "max_sdp_bytes", c.MaxSDPBytes,
		"http_header_timeout", c.HTTPHeaderTimeout.String(), "http_idle_timeout", c.HTTPIdleTimeout.String(), "http_body_timeout", c.HTTPBodyTimeout.String(),
		"rtmp_max_conns", c.RTMPMaxConns, "rtmp_handshake_timeout", c.RTMPHandshakeTimeout.String(),
		"rtmp_read_timeout", c.RTMPReadTimeout.String(), "rtmp_publish_timeout", c.RTMPPublishTimeout.String(), "rtmp_max_conns_per_ip", c.RTMPMaxConnsPerIP, "chat_max_conns_per_ip", c.ChatMaxConnsPerIP,
		"chat_rate", strconv.Itoa(c.ChatRateBurst) + "/" + c.ChatRateWindow.String(), "chat_rate_timeout", c.ChatRateTimeout.String(),
		"chat_max_text_chars", c.ChatMaxTextChars,
		"cluster", c.ClusterSecret != "", "relay_fanout", c.RelayFanout, "max_node_viewers", c.MaxNodeViewers,
		"node_relay_url", c.NodeRelayURL, "node_public_url", c.NodePublicURL, "relay_idle", c.RelayIdle.String(),
	}
}

func redactICE(s string) string {
	// turn:user:pass@host:port: keep the scheme and host only.
	if i := strings.LastIndex(s, "@"); i >= 0 {
		if j := strings.Index(s, ":"); j >= 0 && j < i {
			return s[:j+1] + "redacted@" + s[i+1:]
		}
	}
	return s
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func checkAddr(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

func checkOptionalAddr(v string) error {
	if v == "" {
		return nil
	}
	return checkAddr(v)
}

func checkRedisURL(v string) error {
	if v == "" {
		return nil
	}
	if _, err := redisconn.Parse(v); err != nil {
		return fmt.Errorf("want redis://host:port[/db] or redis-sentinel://host:port[,host:port...]/master[/db]: %w", err)
	}
	return nil
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("want one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}

func intRange(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer from %d to %d, got %q", lo, hi, v)
		}
		return nil
	}
}

func durationRange(lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration from %s to %s, got %q", lo, hi, v)
		}
		return nil
	}
}

// checkPrefixed wants an empty value or one with a known prefix. It never
// repeats the value: these options are secrets.
func checkPrefixed(prefixes ...string) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		for _, p := range prefixes {
			if strings.HasPrefix(v, p) && len(v) > len(p) {
				return nil
			}
		}
		return fmt.Errorf("want a value starting with %s", strings.Join(prefixes, " or "))
	}
}

func checkOptionalHTTPURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errors.New("want an http(s)://host[:port] URL")
	}
	return nil
}

func checkClusterSecret(v string) error {
	if v != "" && len(v) < 16 {
		return errors.New("use at least 16 characters (e.g. openssl rand -hex 32)")
	}
	return nil
}

func checkPublicURL(v string) error {
	if err := checkOptionalHTTPURL(v); err != nil {
		return err
	}
	if u, _ := url.Parse(v); v != "" && strings.Trim(u.Path, "/") != "" {
		return errors.New("want only scheme and host, e.g. https://gigs.example.com")
	}
	return nil
}

func checkBool(v string) error {
	if _, err := strconv.ParseBool(v); err != nil {
		return fmt.Errorf("want true or false, got %q", v)
	}
	return nil
}

func checkIPList(v string) error {
	for _, p := range splitList(v) {
		if net.ParseIP(p) == nil {
			return fmt.Errorf("%q is not an IP address", p)
		}
	}
	return nil
}

// checkFrameAncestors wants CSP source expressions that cannot break out
// of the header: 'self', 'none', or http(s) origins.
func checkFrameAncestors(v string) error {
	for _, p := range splitList(v) {
		if p == "'self'" || p == "'none'" {
			continue
		}
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || strings.ContainsAny(p, "; ,'\"") {
			return fmt.Errorf("%q: want 'self', 'none' or an origin like https://partner.example", p)
		}
	}
	return nil
}

// capOrNone maps a flag's 0 ("no cap") to the -1 the media packages take
// for it (their 0 means "the default").
func capOrNone(v string) int {
	n, _ := strconv.Atoi(v)
	if n == 0 {
		return -1
	}
	return n
}

// parseRate reads "N/duration" ("10/1h").
func parseRate(v string) (ratelimit.Rule, error) {
	n, d, ok := strings.Cut(v, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit < 1 || limit > 1_000_000 {
		return ratelimit.Rule{}, fmt.Errorf("want N/duration such as 10/1h, got %q", v)
	}
	win, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || win < time.Second || win > 7*24*time.Hour {
		return ratelimit.Rule{}, fmt.Errorf("want N/duration with a duration from 1s to 168h, got %q", v)
	}
	return ratelimit.Rule{Limit: limit, Window: win}, nil
}

func checkRate(v string) error {
	_, err := parseRate(v)
	return err
}

func checkCIDRList(v string) error {
	_, err := clientip.New(splitList(v))
	return err
}

func checkICEList(v string) error {
	for _, p := range splitList(v) {
		if !strings.HasPrefix(p, "stun:") && !strings.HasPrefix(p, "turn:") && !strings.HasPrefix(p, "turns:") {
			return fmt.Errorf("%q: want stun:, turn: or turns: URLs", redactICE(p))
		}
	}
	return nil
}

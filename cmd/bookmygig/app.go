package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/api"
	"github.com/bookmygig/bookmygig/chat"
	"github.com/bookmygig/bookmygig/cluster"
	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/internal/clientip"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/ratelimit"
	"github.com/bookmygig/bookmygig/internal/redisconn"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
	"github.com/bookmygig/bookmygig/transcode"
	"github.com/bookmygig/bookmygig/web"
	"github.com/gin-gonic/gin"
	"github.com/pion/webrtc/v4"
	"github.com/redis/go-redis/v9"
)

// gigStore is what the server needs from a store engine.
type gigStore interface {
	api.GigStore
	store.StatusSetter
	access.KeyResolver
	Close() error
}

// app is one running server: every component, in the order they start.
type app struct {
	cfg Config
	log *slog.Logger
	// clients finds the client address behind the trusted proxies.
	clients *clientip.Resolver

	store   gigStore
	chatRDB *redis.Client // nil on the embedded engine
	broker  chat.Broker
	reg     *media.Registry
	status  *statusSync
	leases  *leaseKeeper // nil on the embedded engine
	sweep   *sweeper
	shows   *showCtl
	hub     *chat.Hub
	// Booking: tickets, the gate media and chat ask, and payments.
	tickets   ticket.Store
	ticketBus ticket.Bus
	gate      *ticket.Gate
	payments  payment.Provider
	sfu       *sfu.SFU
	whip      *whip.Server
	flv       *flv.Handler
	cluster   *clusterNode // nil unless --cluster-secret
	rtmp      *ingest.Server
	httpSrv   *http.Server
	// meters and the /metrics registry (metrics.go).
	meters meters

	httpLn, rtmpLn net.Listener
	transcodeOnce  sync.Once
	closeOnce      sync.Once
}

// newApp builds every component and opens the listeners, so a port in use
// or an unreachable Redis fails start-up with a clear message.
func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	if cfg.NodeID == "" {
		cfg.NodeID = defaultNodeID()
	}
	clients, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	a := &app{cfg: cfg, log: log, clients: clients}
	ok := false
	defer func() {
		if !ok {
			a.shutdown()
		}
	}()
	if err = a.openEngine(ctx); err != nil {
		return nil, err
	}
	if err = a.openTickets(ctx); err != nil {
		return nil, err
	}
	if a.payments, err = paymentProvider(cfg, log); err != nil {
		return nil, err
	}
	if gs, ok := a.store.(expirySweeper); ok {
		a.sweep = startSweeper(gs, a.tickets, time.Minute, log.With("component", "sweep"))
	}
	a.reg = media.NewRegistry(media.RegistryConfig{}, log.With("component", "media"))
	a.status = newStatusSync(a.store, log.With("component", "status"))
	if l, ok := a.store.(liveLeaser); ok {
		a.leases = newLeaseKeeper(l, a.reg, a.status, log.With("component", "leases"))
	}
	a.reg.OnEvent(a.onStreamEvent)
	if a.shows, err = newShowCtl(ctx, a.reg, a.store, a.chatRDB, log.With("component", "shows")); err != nil {
		return nil, fmt.Errorf("--redis: end-show requests: %w", err)
	}

	if a.broker, err = a.chatBroker(); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	guestKey, err := a.chatGuestKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	a.hub, err = chat.New(chat.Config{
		NodeID:        cfg.NodeID,
		MaxConnsPerIP: cfg.ChatMaxConnsPerIP,
		RateBurst:     cfg.ChatRateBurst,
		RateWindow:    cfg.ChatRateWindow,
		RateTimeout:   cfg.ChatRateTimeout,
		MaxTextRunes:  cfg.ChatMaxTextChars,
		Coalesce:      chatCoalesce(cfg.ChatCoalesce),
		// A frame holds the text (up to 4 bytes a character) and its JSON.
		MaxFrameBytes: max(4096, 4*cfg.ChatMaxTextChars+512),
		Authorize: func(ctx context.Context, gigID, token string) error {
			return a.store.CheckManageToken(ctx, gigID, token)
		},
		Gate:     a.gate,
		ClientIP: a.clients.String,
		GuestKey: guestKey,
		// Media viewers of this node count in the gig's presence on every
		// node; the streams own their counts.
		MediaViewers: a.reg,
	}, a.broker, log)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}

	a.sfu, err = sfu.New(a.sfuConfig(), a.reg, log)
	if err != nil {
		return nil, fmt.Errorf("webrtc (--webrtc-port %d): %w", cfg.WebRTCPort, err)
	}
	// WHIP ingest shares the SFU's ICE port and signalling settings.
	a.whip, err = whip.New(a.whipConfig(), a.sfu.Port(), a.reg, log)
	if err != nil {
		return nil, fmt.Errorf("whip: %w", err)
	}
	a.flv = flv.NewHandler(flv.Config{
		CORSOrigins:     cfg.CORSOrigins,
		MaxViewers:      cfg.FLVMaxViewers,
		MaxViewersPerIP: cfg.FLVMaxViewersPerIP,
		ClientIP:        a.clients.String,
		Gate:            a.gate,
	}, a.reg, log)
	if err = a.openCluster(); err != nil {
		return nil, err
	}

	if cfg.RTMPAddr != "" {
		a.rtmp, err = ingest.New(ingest.Config{
			MaxConns:         cfg.RTMPMaxConns,
			HandshakeTimeout: cfg.RTMPHandshakeTimeout,
			ReadTimeout:      cfg.RTMPReadTimeout,
			PublishTimeout:   cfg.RTMPPublishTimeout,
			MaxConnsPerIP:    cfg.RTMPMaxConnsPerIP,
		}, a.store, a.reg, log)
		if err != nil {
			return nil, fmt.Errorf("rtmp: %w", err)
		}
		if a.rtmpLn, err = net.Listen("tcp", cfg.RTMPAddr); err != nil {
			return nil, fmt.Errorf("--rtmp-addr %s: %w", cfg.RTMPAddr, err)
		}
	}

	if !web.Built() {
		log.Warn("web front-end not built: the UI answers with a hint; run `make web` (API, media and chat work)")
	}
	gin.SetMode(gin.ReleaseMode)
	router := api.NewRouter(a.withMetrics(api.Deps{
		Store:        a.store,
		Logger:       log,
		Viewers:      a.hub,
		StreamInfo:   a.streamInfo,
		Mounts:       a.mounts(),
		Web:          web.Handler(web.Config{FrameAncestors: cfg.FrameAncestors, ConnectSources: a.clusterURLs}),
		CORSOrigins:  cfg.CORSOrigins,
		MaxBodyBytes: cfg.MaxBodyBytes,
		BodyTimeout:  cfg.HTTPBodyTimeout,
		CreateLimit:  a.limiter("gig-create", cfg.GigCreateLimit, guestKey),
		BookLimit:    a.limiter("booking", cfg.BookingLimit, guestKey),
		ClientIP:     a.clients.String,
		RTMPURL:      a.rtmpURL(),
		RTMPPort:     a.rtmpPort(),
		Tickets:      a.tickets,
		Gate:         a.gate,
		Payments:     a.payments,
		Shows:        a.shows,
		PublicURL:    cfg.PublicURL,
	}))
	a.httpSrv = &http.Server{
		Handler:           router,
		ReadHeaderTimeout: cfg.HTTPHeaderTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelDebug),
	}
	if a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("--http-addr %s: %w", cfg.HTTPAddr, err)
	}
	ok = true
	return a, nil
}

// openCluster joins the nodes on the same Redis (--cluster-secret).
func (a *app) openCluster() error {
	if a.cfg.ClusterSecret == "" || a.chatRDB == nil {
		return nil
	}
	relayURL := a.cfg.NodeRelayURL
	if relayURL == "" {
		host, port, err := net.SplitHostPort(a.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("--http-addr: %w", err)
		}
		if host == "" || net.ParseIP(host).IsUnspecified() {
			if host, err = os.Hostname(); err != nil {
				return fmt.Errorf("--node-relay-url is needed: %w", err)
			}
		}
		relayURL = "http://" + net.JoinHostPort(host, port)
	}
	publicURL := a.cfg.NodePublicURL
	if publicURL == "" {
		publicURL = relayURL
	}
	dir := cluster.New(a.chatRDB, cluster.Config{
		NodeID:    a.cfg.NodeID,
		RelayURL:  relayURL,
		PublicURL: publicURL,
		Fanout:    a.cfg.RelayFanout,
	}, a.log.With("component", "cluster"))
	a.cluster = newClusterNode(dir, a.reg, a.sfu, a.whip, a.flv, clusterOptions{
		secret: a.cfg.ClusterSecret, maxViewers: a.cfg.MaxNodeViewers, idle: a.cfg.RelayIdle,
	}, a.log.With("component", "cluster"))
	return nil
}

// openEngine connects the gig store and, on Redis, the chat relay client.
func (a *app) openEngine(ctx context.Context) error {
	if a.cfg.Redis == "" {
		a.store = store.NewMemoryWith(store.MemoryConfig{EndedRetention: a.cfg.EndedRetention})
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := store.NewRedis(sctx, store.RedisConfig{URL: a.cfg.Redis, EndedRetention: a.cfg.EndedRetention}, a.log)
	if err != nil {
		return fmt.Errorf("--redis: %w", err)
	}
	a.store = st
	redis.SetLogger(redisLogger{a.log})
	// A redis-sentinel:// URL gives a failover client: pub/sub and
	// commands move to the new master by themselves after a failover.
	if a.chatRDB, err = redisconn.Open(a.cfg.Redis, redisconn.Options{DialTimeout: 500 * time.Millisecond, MaxRetries: 1}); err != nil {
		return fmt.Errorf("--redis: %w", err)
	}
	return nil
}

// chatGuestKey is the key chat guest ids are signed with: shared by every
// node through Redis, random per process (nil) on memory.
func (a *app) chatGuestKey(ctx context.Context) ([]byte, error) {
	if a.chatRDB == nil {
		return nil, nil
	}
	kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return chat.SharedGuestKey(kctx, a.chatRDB)
}

func (a *app) chatBroker() (chat.Broker, error) {
	if a.chatRDB == nil {
		return chat.NewMemoryBroker(), nil
	}
	return chat.NewRedisBroker(chat.RedisBrokerConfig{Client: a.chatRDB}, a.log)
}

func (a *app) sfuConfig() sfu.Config {
	host := ""
	if h, _, err := net.SplitHostPort(a.cfg.HTTPAddr); err == nil && net.ParseIP(h) != nil {
		// A server bound to one address (127.0.0.1 in tests) keeps ICE there too.
		host = h
	}
	return sfu.Config{
		ICEAddr:     net.JoinHostPort(host, strconv.Itoa(a.cfg.WebRTCPort)),
		PublicIPs:   a.cfg.WebRTCPublicIPs,
		ICEServers:  parseICEServers(a.cfg.ICEServers),
		MaxViewers:  a.cfg.MaxViewers,
		MaxSDPBytes: a.cfg.MaxSDPBytes,
		CORSOrigins: a.cfg.CORSOrigins,
		RelayAuth:   a.relayAuth,
		Gate:        a.gate,
		ClientIP:    a.clients.String,
		// Per-address limits and candidate filtering (hardening).
		MaxSessionsPerIP:       a.cfg.WebRTCMaxSessionsPerIP,
		OfferRate:              a.cfg.WHEPOfferLimit.Limit,
		OfferWindow:            a.cfg.WHEPOfferLimit.Window,
		ConnectTimeout:         a.cfg.WebRTCConnectTimeout,
		AllowPrivateCandidates: a.cfg.WebRTCAllowPrivateCandidates,
		OnDataChannel: func(gigID, remoteIP string, dc *webrtc.DataChannel) {
			attachDataChannel(a.hub, gigID, remoteIP, dc, a.log)
		},
	}
}

// whipConfig is WHIP ingest's config: the stream keys, and the signalling
// settings of the SFU's (one set of flags for both).
func (a *app) whipConfig() whip.Config {
	sc := a.sfuConfig()
	return whip.Config{
		Keys:           a.store,
		ConnectTimeout: sc.ConnectTimeout,
		Signaling:      sc.Signal(),
		ClientIP:       sc.ClientIP,
	}
}

// mounts are the media and chat endpoints the API router serves.
func (a *app) mounts() []api.Mount {
	var out []api.Mount
	for _, r := range append(a.whip.Routes(), a.sfu.Routes()...) {
		summary := "WebRTC playback (WHEP)"
		h := r.Handler
		if strings.HasPrefix(r.Pattern, "/whip/") {
			summary = "WebRTC publishing (WHIP, Bearer stream key)"
		} else if a.cluster != nil && r.Method == http.MethodPost && r.Pattern == "/whep/{id}" {
			h = a.cluster.steer(h)
		}
		out = append(out, api.Mount{Method: r.Method, Path: ginPath(r.Pattern), Summary: summary, Handler: h})
	}
	if a.cluster != nil {
		out = append(out, api.Mount{Method: http.MethodGet, Path: "/api/cluster", Summary: "cluster nodes, their load and every live gig's relay tree", Handler: http.HandlerFunc(a.cluster.serveCluster)})
	}
	out = append(out,
		api.Mount{Method: http.MethodGet, Path: "/live/:file", Summary: "HTTP-FLV and WebSocket-FLV playback ({gigID}.flv)", Handler: a.flv},
		api.Mount{Method: http.MethodGet, Path: "/api/gigs/:id/chat", Summary: "chat WebSocket (protocol in chat/doc.go)", Handler: http.HandlerFunc(a.serveChat)},
	)
	if a.cfg.Pprof {
		mux := http.NewServeMux()
		// No /debug/pprof/cmdline: the command line carries the Redis and
		// TURN passwords (pprof.Index answers it 404 as an unknown profile).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		out = append(out, api.Mount{Method: http.MethodGet, Path: "/debug/pprof/*path", Summary: "Go profiling (--pprof)", Handler: mux})
	}
	return out
}

// limiter counts a per-address rule on the engine: in Redis, so every node
// shares the count; in process on the embedded engine.
// The salt (the nodes' shared chat guest key) keeps client addresses out
// of Redis key names.
func (a *app) limiter(name string, r ratelimit.Rule, salt []byte) api.Limiter {
	if a.chatRDB != nil {
		return ratelimit.NewRedis(a.chatRDB, name, r, salt)
	}
	return ratelimit.NewMemory(r)
}

// serveChat refuses chat for gigs that do not exist before the WebSocket
// upgrade, so nobody can make rooms and history for made-up ids.
func (a *app) serveChat(w http.ResponseWriter, r *http.Request) {
	if _, err := a.store.Get(r.Context(), r.PathValue("id")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			httperr.Write(w, http.StatusNotFound, "not_found", "gig not found")
			return
		}
		httperr.Write(w, http.StatusServiceUnavailable, "unavailable", "storage is unavailable, try again shortly")
		return
	}
	a.hub.ServeWS(w, r)
}

// ginPath turns a ServeMux pattern ("/whep/{id}") into gin syntax ("/whep/:id").
func ginPath(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = ":" + strings.TrimSuffix(strings.TrimPrefix(p, "{"), "}")
		}
	}
	return strings.Join(parts, "/")
}

// Chat presence reads the media viewers from the streams that count them.
var _ chat.MediaViewers = (*media.Registry)(nil)

// streamReport is GET /api/gigs/{id}/stream: media's figures, then the
// advice the API gives about them.
type streamReport struct {
	media.Stats
	Warnings []api.StreamWarning `json:"warnings"`
}

// streamInfo is GET /api/gigs/{id}/stream: the live stream's health, with
// the chat-only viewers of this node and the total across nodes.
func (a *app) streamInfo(gigID string) (any, bool) {
	s, ok := a.reg.Get(gigID)
	if !ok {
		return nil, false
	}
	st := streamReport{Stats: s.Stats()}
	if v := st.Video; v != nil {
		st.Warnings = api.StreamWarnings(true, v.BFrames, v.KeyframeInterval)
	} else {
		st.Warnings = api.StreamWarnings(false, false, 0)
	}
	if st.Viewers == nil {
		st.Viewers = map[string]int{}
	}
	if n := a.hub.LocalViewers(gigID)["chat"]; n > 0 {
		st.Viewers["chat"] = n
	}
	st.Viewers["total"] = a.hub.Viewers(gigID)
	return st, true
}

func (a *app) rtmpPort() int {
	if a.cfg.RTMPAddr == "" {
		return 0
	}
	_, p, _ := net.SplitHostPort(a.cfg.RTMPAddr)
	n, _ := strconv.Atoi(p)
	return n
}

// rtmpURL is the OBS server URL shown with credentials, when --public-host
// names the host; otherwise the API derives it from each request.
func (a *app) rtmpURL() string {
	if a.cfg.PublicHost == "" {
		return ""
	}
	host := a.cfg.PublicHost
	if p := a.rtmpPort(); p != 1935 && p != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return "rtmp://" + host + "/live"
}

// clusterURLs are the other nodes' public URLs (nil outside a cluster).
func (a *app) clusterURLs() []string {
	if a.cluster == nil {
		return nil
	}
	return a.cluster.nodeURLs()
}

// relayAuth accepts the relay token of this cluster's nodes.
func (a *app) relayAuth(token string) bool {
	return a.cfg.ClusterSecret != "" && cluster.ValidRelayToken(a.cfg.ClusterSecret, token)
}

// onStreamEvent runs on the publisher's goroutine: it only queues work.
// A relayed copy of another node's stream is not a publisher: it neither
// starts nor ends the gig, and carries both audio codecs already.
func (a *app) onStreamEvent(ev media.Event) {
	if ev.Stream.Source() == media.SourceRelay {
		return
	}
	if a.leases != nil {
		a.leases.poke()
	}
	switch ev.Type {
	case media.Published:
		a.status.set(ev.GigID, store.StatusLive)
		a.startTranscode(ev.Stream)
	case media.Unpublished:
		a.status.set(ev.GigID, store.StatusEnded)
	}
}

// startTranscode makes the Opus track WebRTC viewers need from AAC sources.
func (a *app) startTranscode(s *media.Stream) {
	_, err := transcode.Start(s, transcode.Config{BitrateBps: a.cfg.OpusBitrate, Complexity: a.cfg.OpusComplexity, Meter: &a.meters.transcode}, a.log)
	if err == nil {
		return
	}
	if errors.Is(err, transcode.ErrUnavailable) {
		a.transcodeOnce.Do(func() { a.log.Warn(err.Error()) })
		return
	}
	a.log.Error("aac to opus transcoder did not start", "gig", s.GigID(), "err", err)
}

// serve accepts connections until ctx ends or a listener fails.
func (a *app) serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() {
		if err := a.httpSrv.Serve(a.httpLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if a.rtmp != nil {
		go func() {
			if err := a.rtmp.Serve(a.rtmpLn); !errors.Is(err, ingest.ErrServerClosed) {
				errc <- fmt.Errorf("rtmp: %w", err)
			}
		}()
	}
	a.log.Info("listening", "http", a.httpLn.Addr().String(), "rtmp", addrString(a.rtmpLn), "webrtc_port", a.sfu.ICEPort(),
		"engine", map[bool]string{true: "redis", false: "memory"}[a.chatRDB != nil])
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// shutdown stops accepting, lets in-flight requests finish within the
// grace period, closes every long-lived connection (chat clients are told
// the server is restarting), marks live gigs ended and closes the engine.
func (a *app) shutdown() {
	a.closeOnce.Do(func() {
		grace := a.cfg.ShutdownTimeout
		if grace <= 0 {
			grace = 8 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		httpDone := make(chan struct{})
		go func() {
			defer close(httpDone)
			if a.httpSrv != nil && a.httpLn != nil {
				a.httpSrv.SetKeepAlivesEnabled(false)
				if err := a.httpSrv.Shutdown(ctx); err != nil {
					a.log.Warn("http shutdown: closing the remaining connections", "err", err)
					_ = a.httpSrv.Close()
				}
			} else if a.httpLn != nil {
				_ = a.httpLn.Close()
			}
		}()
		if a.rtmp != nil {
			a.rtmp.Close()
		} else if a.rtmpLn != nil {
			_ = a.rtmpLn.Close()
		}
		if a.hub != nil {
			_ = a.hub.Close()
		}
		if a.flv != nil {
			a.flv.Close()
		}
		if a.whip != nil {
			a.whip.Close()
		}
		if a.sfu != nil {
			// After WHIP: it closes the ICE port they share.
			a.sfu.Close()
		}
		if a.reg != nil {
			a.reg.CloseAll()
		}
		if a.cluster != nil {
			// After the streams closed: their origins are withdrawn, so
			// edges move to the publisher's next node at once.
			a.cluster.close()
		}
		<-httpDone
		if a.shows != nil {
			a.shows.close()
		}
		if a.leases != nil {
			a.leases.close()
		}
		if a.status != nil {
			a.status.close(ctx)
		}
		if a.sweep != nil {
			a.sweep.close()
		}
		a.closeTickets()
		if c, ok := a.broker.(interface{ Close() error }); ok {
			_ = c.Close()
		}
		if a.chatRDB != nil {
			_ = a.chatRDB.Close()
		}
		if a.store != nil {
			_ = a.store.Close()
		}
	})
}

func addrString(ln net.Listener) string {
	if ln == nil {
		return "disabled"
	}
	return ln.Addr().String()
}

// parseICEServers reads "stun:host:port" and "turn:user:pass@host:port"
// (the user and password become TURN credentials).
func parseICEServers(list []string) []sfu.ICEServer {
	out := make([]sfu.ICEServer, 0, len(list))
	for _, s := range list {
		srv := sfu.ICEServer{URLs: []string{s}}
		if at := strings.LastIndex(s, "@"); at >= 0 {
			if colon := strings.Index(s, ":"); colon >= 0 && colon < at {
				scheme, cred, host := s[:colon], s[colon+1:at], s[at+1:]
				user, pass, _ := strings.Cut(cred, ":")
				srv = sfu.ICEServer{URLs: []string{scheme + ":" + host}, Username: user, Credential: pass}
			}
		}
		out = append(out, srv)
	}
	return out
}

// defaultNodeID is hostname-pid.
func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "node"
	}
	return h + "-" + strconv.Itoa(os.Getpid())
}

// chatCoalesce maps the flag (0 = off) to chat.Config (0 = default, < 0 = off).
func chatCoalesce(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

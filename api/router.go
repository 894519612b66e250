package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
	"github.com/gin-gonic/gin"
)

// GigStore is what the API needs from a store engine.
type GigStore interface {
	store.Reader
	store.Writer
	store.Credentials
	Ping(ctx context.Context) error
}

// ViewerCounter reports how many viewers watch a gig right now.
type ViewerCounter interface {
	Viewers(gigID string) int
}

// Limiter counts an event for a key (a client address) and says whether it
// is within its limit, and if not, when to retry. An error means it could
// not tell; the request then goes through.
type Limiter interface {
	Allow(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// DefaultMaxBodyBytes caps JSON request bodies.
const DefaultMaxBodyBytes = 64 << 10

// Mount attaches a plain http.Handler (WHIP, WHEP, FLV, chat) to the router.
type Mount struct {
	// Method is the HTTP method ("GET", "POST", ...).
	Method string
	// Path uses gin syntax: "/whep/:id", "/live/:file", "/api/gigs/:id/chat".
	// The handler reads each parameter with r.PathValue("id").
	Path string
	// Summary describes the route in the OpenAPI document.
	Summary string
	Handler http.Handler
}

// Deps is everything the router needs; only Store is required.
type Deps struct {
	Store  GigStore
	Logger *slog.Logger
	// Viewers fills the viewers field of gigs; nil means 0 everywhere.
	Viewers ViewerCounter
	// StreamInfo serves GET /api/gigs/:id/stream: whatever it returns is sent
	// as JSON; ok=false (or a nil func) means the gig is not live (404).
	StreamInfo func(gigID string) (info any, ok bool)
	// Mounts are extra routes; a path that clashes with another route
	// panics at start-up (gin's rule), which a test in cmd catches.
	Mounts []Mount
	// Web serves every unmatched GET/HEAD outside /api (the front-end and
	// its client-side routes); nil means 404.
	Web http.Handler
	// MaxBodyBytes caps JSON bodies (413 above it); 0 means 64 KiB.
	MaxBodyBytes int64
	// BodyTimeout bounds how long any request body may take to arrive
	// (JSON, SDP, webhooks; 408 or a refused body after it); 0 means none.
	BodyTimeout time.Duration
	// CORSOrigins may call the API from a browser on another origin; "*"
	// allows any origin. Empty means same-origin only.
	CORSOrigins []string
	// RTMPURL is the publish URL shown with new credentials, e.g.
	// "rtmp://live.example.com/live". Empty derives it from the request host
	// and RTMPPort.
	RTMPURL string
	// RTMPPort is the ingest port for the derived RTMPURL; 0 means 1935.
	RTMPPort int
	// ObserveRequest, when set, is told of every answered request: route is
	// gin's route template ("/api/gigs/:id", never the raw URL, which may
	// hold secrets), "" for unmatched paths. It must be quick.
	ObserveRequest func(method, route string, status int, d time.Duration)
	// Meter, when set, counts requests refused for an unreachable store
	// or an oversized body.
	Meter *Meter
	// Tickets and Gate enable booking (the /tickets routes); nil leaves
	// every gig bookable by nobody (the routes are not served).
	Tickets ticket.Store
	Gate    TicketGate
	// Payments takes paid bookings; nil or payment.Disabled answers paid
	// booking with 503 payments_unavailable (comp tickets still work).
	Payments payment.Provider
	// Shows ends live shows on every node (POST /api/gigs/:id/end and key
	// rotation); nil answers /end with 503 and rotates keys without
	// disconnecting a live publisher.
	Shows ShowEnder
	// CreateLimit and BookLimit, when set, bound gig creation and booking
	// per client address (ClientIP): 429 rate_limited over the limit.
	CreateLimit Limiter
	BookLimit   Limiter
	// ClientIP is the client's address behind trusted proxies; nil means
	// the connection's peer.
	ClientIP func(r *http.Request) string
	// PublicURL is the scheme and host browsers reach the server on
	// ("https://gigs.example.com"), for checkout return URLs; empty derives
	// it from each request.
	PublicURL string
}

// NewRouter builds the HTTP router. Call gin.SetMode(gin.ReleaseMode) in cmd
// first to silence gin's debug output.
func NewRouter(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	log := d.Logger.With("component", "api")
	h := &handlers{d: d, log: log}

	r := gin.New()
	r.ContextWithFallback = true
	r.Use(logRequests(log, d.ObserveRequest), recoverPanics(log), corsHeaders(d.CORSOrigins), bodyDeadline(d.BodyTimeout))

	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	r.GET("/api/openapi.json", h.openAPI)
	r.POST("/api/gigs", h.limited(d.CreateLimit, "gig creations"), h.createGig)
	r.GET("/api/gigs", h.listGigs)
	r.GET("/api/gigs/:id", h.getGig)
	r.PATCH("/api/gigs/:id", h.patchGig)
	r.DELETE("/api/gigs/:id", h.deleteGig)
	r.POST("/api/gigs/:id/stream-key", h.rotateStreamKey)
	r.POST("/api/gigs/:id/end", h.endShow)
	r.GET("/api/gigs/:id/stream", h.streamInfo)
	if d.Tickets != nil && d.Gate != nil {
		r.POST("/api/gigs/:id/tickets", h.limited(d.BookLimit, "bookings"), h.bookTicket)
		r.GET("/api/gigs/:id/tickets", h.listTickets)
		r.GET("/api/gigs/:id/tickets/me", h.myTicket)
		r.POST("/api/gigs/:id/tickets/comp", h.compTicket)
		r.POST("/api/gigs/:id/tickets/:ticket/revoke", h.revokeTicket)
		r.POST("/api/gigs/:id/tickets/:ticket/refund", h.refundTicket)
		r.POST("/api/payments/stripe/webhook", h.stripeWebhook)
	}
	for _, m := range d.Mounts {
		r.Handle(m.Method, m.Path, mountHandler(m.Handler))
	}
	r.NoRoute(h.noRoute)

	// Built once; a test checks it against r.Routes().
	h.openapi = buildOpenAPI(d.Mounts, d.Tickets != nil && d.Gate != nil)
	return r
}

// mountHandler passes gin's path parameters to a plain http.Handler through
// the standard library's PathValue.
func mountHandler(next http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, p := range c.Params {
			c.Request.SetPathValue(p.Key, p.Value)
		}
		next.ServeHTTP(c.Writer, c.Request)
	}
}

type handlers struct {
	d       Deps
	log     *slog.Logger
	openapi []byte
}

func (h *handlers) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	isGet := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
	if h.d.Web != nil && isGet && p != "/api" && !strings.HasPrefix(p, "/api/") {
		// gin presets 404 for unmatched routes; the web handler decides.
		c.Status(http.StatusOK)
		h.d.Web.ServeHTTP(c.Writer, c.Request)
		return
	}
	writeError(c, http.StatusNotFound, codeNotFound, "no such route", "")
}

func (h *handlers) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (h *handlers) readyz(c *gin.Context) {
	if err := h.d.Store.Ping(c.Request.Context()); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (h *handlers) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", h.openapi)
}

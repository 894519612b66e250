package api

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookmygig/bookmygig/internal/cors"
)

// logRequests logs one line per request: method, route template, status,
// duration. It never logs headers, bodies or query strings (tokens travel
// there), and logs the raw path only for unmatched routes, with anything
// shaped like a secret masked. observe, when set, gets the same figures.
func logRequests(log *slog.Logger, observe func(method, route string, status int, d time.Duration)) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		elapsed := time.Since(start)
		if observe != nil {
			observe(c.Request.Method, c.FullPath(), status, elapsed)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.Int("status", status),
			slog.Float64("ms", float64(elapsed.Microseconds())/1000),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
		}
		if c.FullPath() == "" {
			attrs = append(attrs, slog.String("path", maskSecrets(c.Request.URL.Path)))
		}
		log.LogAttrs(c.Request.Context(), level, "http request", attrs...)
	}
}

// maskSecrets hides path segments that look like a stream key, manage token
// or ticket.
func maskSecrets(p string) string {
	if !strings.Contains(p, "sk_") && !strings.Contains(p, "mt_") && !strings.Contains(p, "tk_") {
		return p
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.Contains(s, "sk_") || strings.Contains(s, "mt_") || strings.Contains(s, "tk_") {
			parts[i] = "[redacted]"
		}
	}
	return strings.Join(parts, "/")
}

// bodyDeadline bounds the time a client may take to send a request body
// (JSON, SDP, webhooks), on every route: a body dribbled a byte at a time
// otherwise holds a goroutine and a connection forever (ReadHeaderTimeout
// covers only the headers). The deadline is lifted once the body has been
// read to its end, so it never cuts a long-lived connection (WebSocket,
// FLV) or a slow handler.
func bodyDeadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if d <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			c.Next()
			return
		}
		rc := http.NewResponseController(c.Writer)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			c.Next() // a writer without deadlines (tests' recorders)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		c.Next()
	}
}

// deadlineBody lifts the read deadline when the body has been read whole.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// limited refuses a client over l's limit with 429 rate_limited and
// Retry-After; nil l passes everything. A limiter that cannot count (Redis
// down) lets the request through: one client's flood matters less than
// every client's request.
func (h *handlers) limited(l Limiter, what string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if l == nil {
			c.Next()
			return
		}
		ok, retry, err := l.Allow(c.Request.Context(), h.clientIP(c.Request), time.Now())
		if err != nil {
			h.log.Warn("rate limit unavailable", "route", c.FullPath(), "err", err)
		}
		if !ok {
			secs := max(int(retry.Round(time.Second)/time.Second), 1)
			c.Header("Retry-After", strconv.Itoa(secs))
			writeError(c, http.StatusTooManyRequests, codeRateLimited, "too many "+what+" from your address; try again in "+strconv.Itoa(secs)+" s", "")
			return
		}
		c.Next()
	}
}

// clientIP is Deps.ClientIP, or the peer's host.
func (h *handlers) clientIP(r *http.Request) string {
	if h.d.ClientIP != nil {
		return h.d.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recoverPanics turns a handler panic into a logged 500 JSON error instead
// of a dropped connection. http.ErrAbortHandler keeps its meaning.
func recoverPanics(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			log.Error("panic in handler", "route", c.FullPath(), "panic", r, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				writeError(c, http.StatusInternalServerError, codeInternal, msgInternal, "")
				return
			}
			c.Abort()
		}()
		c.Next()
	}
}

// corsHeaders lets browsers on the allowed origins call the API and the
// WHIP/WHEP mounts. A preflight for a route without its own OPTIONS handler
// is answered here; WHIP/WHEP mounts that handle OPTIONS still get it.
func corsHeaders(origins []string) gin.HandlerFunc {
	allowed := cors.Origins(origins)
	// Anything the API and the WHIP/WHEP mounts take, with the headers the
	// browser asks for.
	preflight := cors.Preflight{Methods: "GET, POST, PATCH, DELETE, OPTIONS", MaxAge: 10 * time.Minute}
	return func(c *gin.Context) {
		if !allowed.Set(c.Writer.Header(), c.Request, cors.ExposeWebRTC) {
			c.Next()
			return
		}
		if cors.IsPreflight(c.Request) {
			preflight.Set(c.Writer.Header(), c.Request)
			if c.FullPath() == "" {
				c.AbortWithStatus(http.StatusNoContent)
				return
			}
		}
		c.Next()
	}
}

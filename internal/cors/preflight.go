package cors

import (
	"net/http"
	"strconv"
	"time"
)

// Preflight is the answer to a CORS preflight request: what the browser may
// send, and how long it may remember that.
type Preflight struct {
	// Methods is Access-Control-Allow-Methods ("GET, HEAD, OPTIONS").
	Methods string
	// Headers is Access-Control-Allow-Headers; "" allows the headers the
	// browser asks for (Access-Control-Request-Headers).
	Headers string
	// MaxAge is Access-Control-Max-Age, in whole seconds; 0 leaves it out.
	MaxAge time.Duration
}

// IsPreflight reports whether r is a CORS preflight: an OPTIONS request
// with Access-Control-Request-Method.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// Set sets p's headers on the answer to r; the status is the caller's
// (usually 204).
func (p Preflight) Set(h http.Header, r *http.Request) {
	if p.Methods != "" {
		h.Set("Access-Control-Allow-Methods", p.Methods)
	}
	headers := p.Headers
	if headers == "" {
		headers = r.Header.Get("Access-Control-Request-Headers")
	}
	if headers != "" {
		h.Set("Access-Control-Allow-Headers", headers)
	}
	if p.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(p.MaxAge/time.Second)))
	}
}

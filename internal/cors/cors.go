// Package cors answers browsers on other origins the one way every handler
// of the server does it (the API, WHIP/WHEP, FLV): a list of allowed origins
// where "*" allows any, the Access-Control-Allow-Origin and Vary headers that
// follow from it, the headers a player must read, and preflight answers. It
// imports the standard library only.
package cors

import (
	"net/http"
	"slices"
	"strings"
)

// ExposeWebRTC are the response headers a WHIP/WHEP player on another origin
// must read to find its session and the ICE servers (RFC 9725).
const ExposeWebRTC = "Location, Link, ETag, Accept-Patch"

// Origins are the origins whose pages may call a handler; "*" allows any.
// A nil or empty list allows none (same-origin only). Origins compare without
// regard to case, as browsers serialise them in lower case.
type Origins []string

// Any reports whether every origin is allowed.
func (o Origins) Any() bool {
	return slices.Contains(o, "*")
}

// Allowed is the Access-Control-Allow-Origin value for a request's Origin:
// "*" when any origin is allowed (with or without an Origin), the origin
// itself when it is listed, else "" (no CORS headers).
func (o Origins) Allowed(origin string) string {
	if o.Any() {
		return "*"
	}
	if origin == "" {
		return ""
	}
	for _, allowed := range o {
		if strings.EqualFold(allowed, origin) {
			return origin
		}
	}
	return ""
}

// CheckOrigin reports whether r may proceed, for checks that browsers cannot
// skip (websocket.Upgrader.CheckOrigin): a request without an Origin comes
// from no browser (ffplay, VLC) and needs no permission.
func (o Origins) CheckOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin == "" || o.Allowed(origin) != ""
}

// Set sets the CORS headers of the response to r: Access-Control-Allow-Origin
// and, when expose is not empty, Access-Control-Expose-Headers if r's origin
// is allowed; Vary: Origin whenever the answer depends on the origin (a list
// without "*"), so caches keep the answers apart. It reports whether the
// origin is allowed.
func (o Origins) Set(h http.Header, r *http.Request, expose string) bool {
	if !o.Any() {
		addVary(h, "Origin")
	}
	allowed := o.Allowed(r.Header.Get("Origin"))
	if allowed == "" {
		return false
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	if expose != "" {
		h.Set("Access-Control-Expose-Headers", expose)
	}
	return true
}

// addVary adds name to Vary unless it is there already: two layers (a
// router's middleware and the handler it mounts) may both set CORS headers.
func addVary(h http.Header, name string) {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}

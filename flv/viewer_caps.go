package flv

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/bookmygig/bookmygig/internal/httperr"
)

// addrKey is what MaxViewersPerIP counts a client address as: an IPv4
// address itself, an IPv6 address by its /64 (one subscriber usually gets a
// whole /64). Anything that does not parse counts as itself.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// reserve takes one of the gig's viewer slots and one of the address's, or
// answers the request (503 viewer_cap, 429 too_many_connections) and
// reports false. A slot is held for the whole request: while it waits for
// the stream's tracks, and while the viewer plays.
func (h *Handler) reserve(w http.ResponseWriter, gigID, addr string) bool {
	h.mu.Lock()
	gigFull := h.cfg.MaxViewers > 0 && h.gigSlots[gigID] >= h.cfg.MaxViewers
	addrFull := h.cfg.MaxViewersPerIP > 0 && h.addrSlots[addr] >= h.cfg.MaxViewersPerIP
	if !gigFull && !addrFull {
		h.gigSlots[gigID]++
		h.addrSlots[addr]++
	}
	h.mu.Unlock()
	switch {
	case gigFull:
		h.ctr.capHits.Add(1)
		w.Header().Set("Retry-After", "30")
		httperr.Write(w, http.StatusServiceUnavailable, "viewer_cap", "This show has reached its FLV viewer limit on this server; try again later.")
		return false
	case addrFull:
		h.ctr.addrCapHits.Add(1)
		w.Header().Set("Retry-After", "10")
		httperr.Write(w, http.StatusTooManyRequests, "too_many_connections", "Too many FLV connections from this address; close one and try again.")
		return false
	}
	return true
}

// release gives back the slots reserve took.
func (h *Handler) release(gigID, addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gigSlots[gigID]--; h.gigSlots[gigID] <= 0 {
		delete(h.gigSlots, gigID)
	}
	if h.addrSlots[addr]--; h.addrSlots[addr] <= 0 {
		delete(h.addrSlots, addr)
	}
}

// allowedOrigin is the Access-Control-Allow-Origin for a request's Origin:
// "*" when any origin may play, the origin itself when it is listed, else
// "" (no CORS headers; a WebSocket upgrade is refused).
func (h *Handler) allowedOrigin(origin string) string {
	if slices.Contains(h.cfg.CORSOrigins, "*") {
		return "*"
	}
	if origin == "" {
		return ""
	}
	for _, o := range h.cfg.CORSOrigins {
		if strings.EqualFold(o, origin) {
			return origin
		}
	}
	return ""
}

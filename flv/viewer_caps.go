package flv

import (
	"errors"
	"net/http"

	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/slots"
)

// reserve takes one of the gig's viewer slots and one of the address's, or
// answers the request (503 viewer_cap, 429 too_many_connections) and
// reports false. A slot is held for the whole request: while it waits for
// the stream's tracks, and while the viewer plays.
func (h *Handler) reserve(w http.ResponseWriter, gigID, addr string) bool {
	switch err := h.slots.Take(gigID, addr); {
	case errors.Is(err, slots.ErrGigFull):
		h.ctr.capHits.Add(1)
		w.Header().Set("Retry-After", "30")
		httperr.Write(w, http.StatusServiceUnavailable, "viewer_cap", "This show has reached its FLV viewer limit on this server; try again later.")
		return false
	case errors.Is(err, slots.ErrAddrFull):
		h.ctr.addrCapHits.Add(1)
		w.Header().Set("Retry-After", "10")
		httperr.Write(w, http.StatusTooManyRequests, "too_many_connections", "Too many FLV connections from this address; close one and try again.")
		return false
	}
	return true
}

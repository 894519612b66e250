package api

import (
	"context"
	"net/http"

	"github.com/bookmygig/bookmygig/store"
	"github.com/gin-gonic/gin"
)

// Reasons passed to ShowEnder.EndShow, for the publishing node's log.
const (
	// EndReasonCreator: the creator pressed "End show".
	EndReasonCreator = "ended by the creator"
	// EndReasonKeyRotated: the creator replaced the stream key.
	EndReasonKeyRotated = "stream key rotated"
)

const codeNotLive = "not_live"

// ShowEnder ends a gig's live show on every node; cmd implements it.
type ShowEnder interface {
	// EndShow disconnects the gig's publisher on whichever node it is live
	// (the RTMP connection or WHIP session is closed) and, if the store has
	// the gig live, marks it ended. Ending a gig with no publisher is not an
	// error. reason (EndReason...) is for the publishing node's log.
	EndShow(ctx context.Context, gigID, reason string) error
}

// endShow is POST /api/gigs/:id/end (manage token): the show stops on every
// node. The stream key stays valid, so the creator can go live again; a
// creator whose key leaked rotates it (which also ends the show).
// A gig that has already ended answers 200 again; one that never went live
// answers 409 not_live.
func (h *handlers) endShow(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	g, err := h.d.Store.Get(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	if g.Status == store.StatusScheduled {
		writeError(c, http.StatusConflict, codeNotLive, "the gig has not gone live: there is no show to end", "")
		return
	}
	if h.d.Shows == nil {
		writeError(c, http.StatusServiceUnavailable, codeUnavailable, "this server cannot end live shows", "")
		return
	}
	// Ended gigs too: a publisher whose "live" status is still being saved
	// is stopped all the same.
	if err := h.d.Shows.EndShow(ctx, id, EndReasonCreator); err != nil {
		h.fail(c, err)
		return
	}
	if g, err = h.d.Store.Get(ctx, id); err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("show ended by the creator", "gig", id)
	c.JSON(http.StatusOK, h.decorate(ctx, g))
}

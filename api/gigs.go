package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/store"
	"github.com/gin-gonic/gin"
)

// Credentials are the gig's secrets, in the create response only. The paths
// tell the creator where each secret goes.
type Credentials struct {
	StreamKey   string `json:"stream_key"`
	ManageToken string `json:"manage_token"`
	// RTMPURL is the OBS "Server" (stream key goes in "Stream Key").
	RTMPURL string `json:"rtmp_url"`
	// WHIPPath takes the stream key as Authorization: Bearer.
	WHIPPath string `json:"whip_path"`
}

// CreateResponse is the body of 201 Created: the gig plus its credentials,
// shown this once.
type CreateResponse struct {
	store.Gig
	Credentials Credentials `json:"credentials"`
}

// ListResponse is one page of gigs.
type ListResponse struct {
	Gigs       []store.Gig `json:"gigs"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// StreamKeyResponse is the body of a stream-key rotation.
type StreamKeyResponse struct {
	StreamKey string `json:"stream_key"`
}

// decorate fills what the store does not keep: live viewers and seats.
func (h *handlers) decorate(ctx context.Context, g store.Gig) store.Gig {
	if h.d.Viewers != nil {
		g.Viewers = h.d.Viewers.Viewers(g.ID)
	}
	return h.withSeats(ctx, g)
}

func (h *handlers) createGig(c *gin.Context) {
	var in store.GigInput
	if !h.decodeJSON(c, &in) {
		return
	}
	g, sec, err := h.d.Store.Create(c.Request.Context(), in)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("gig created", "gig", g.ID)
	c.Header("Location", "/api/gigs/"+g.ID)
	c.Header("Cache-Control", "no-store") // the body holds secrets
	c.JSON(http.StatusCreated, CreateResponse{
		Gig: h.decorate(c.Request.Context(), g),
		Credentials: Credentials{
			StreamKey:   sec.StreamKey,
			ManageToken: sec.ManageToken,
			RTMPURL:     h.rtmpURL(c.Request),
			WHIPPath:    "/whip/" + g.ID,
		},
	})
}

// rtmpURL is Deps.RTMPURL or, by default, the request's host on Deps.RTMPPort.
func (h *handlers) rtmpURL(r *http.Request) string {
	if h.d.RTMPURL != "" {
		return h.d.RTMPURL
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if host == "" {
		host = "localhost"
	}
	port := h.d.RTMPPort
	if port == 0 {
		port = 1935
	}
	return "rtmp://" + host + ":" + strconv.Itoa(port) + "/live"
}

func (h *handlers) listGigs(c *gin.Context) {
	f, err := parseFilter(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	p, err := h.d.Store.List(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := ListResponse{Gigs: make([]store.Gig, 0, len(p.Gigs)), NextCursor: p.NextCursor}
	for _, g := range p.Gigs {
		out.Gigs = append(out.Gigs, h.decorate(c.Request.Context(), g))
	}
	c.JSON(http.StatusOK, out)
}

// parseFilter reads status, category, from, to (RFC 3339), cursor and limit
// from the query string; the store checks what the values mean.
func parseFilter(c *gin.Context) (store.Filter, error) {
	q := c.Request.URL.Query()
	f := store.Filter{
		Status:   store.Status(q.Get("status")),
		Category: store.Category(q.Get("category")),
		Cursor:   q.Get("cursor"),
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(tp.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, &store.ValidationError{Field: tp.name, Message: "must be an RFC 3339 time, e.g. 2026-05-01T00:00:00Z"}
			}
			*tp.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, &store.ValidationError{Field: "limit", Message: "must be 1-" + strconv.Itoa(store.MaxPageSize)}
		}
		f.Limit = n
	}
	return f, nil
}

func (h *handlers) getGig(c *gin.Context) {
	g, err := h.d.Store.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.decorate(c.Request.Context(), g))
}

// authorize checks Authorization: Bearer <manage token> for the gig in the
// path and answers 401/403/404 itself when it fails.
func (h *handlers) authorize(c *gin.Context) bool {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok {
		writeError(c, http.StatusUnauthorized, codeUnauthorized, "send the gig's manage token as Authorization: Bearer <token>", "")
		return false
	}
	if err := h.d.Store.CheckManageToken(c.Request.Context(), c.Param("id"), token); err != nil {
		h.fail(c, err)
		return false
	}
	return true
}

// bearerToken extracts the token of an RFC 6750 Authorization header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (h *handlers) patchGig(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	var p store.Patch
	if !h.decodeJSON(c, &p) {
		return
	}
	g, err := h.d.Store.Update(c.Request.Context(), c.Param("id"), p)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.decorate(c.Request.Context(), g))
}

func (h *handlers) deleteGig(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	err := h.d.Store.Delete(c.Request.Context(), c.Param("id"))
	if errors.Is(err, store.ErrConflict) {
		writeError(c, http.StatusConflict, codeConflict, "the gig is live; end the show first (POST /api/gigs/{id}/end), then delete it", "")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if h.d.Tickets != nil {
		// Tickets live as long as their gig; a failure here leaves keys
		// nobody can reach (the gig id is never reused), so it only logs.
		if err := h.d.Tickets.DeleteGig(c.Request.Context(), c.Param("id")); err != nil {
			h.log.Warn("tickets of a deleted gig not removed", "gig", c.Param("id"), "err", err)
		}
	}
	h.log.Info("gig deleted", "gig", c.Param("id"))
	c.Status(http.StatusNoContent)
}

func (h *handlers) rotateStreamKey(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	key, err := h.d.Store.RotateStreamKey(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("stream key rotated", "gig", c.Param("id"))
	// Whoever publishes with the old key (a leaked key's hijacker) is cut
	// off now, on every node, and cannot come back with it.
	if h.d.Shows != nil {
		if err := h.d.Shows.EndShow(c.Request.Context(), c.Param("id"), EndReasonKeyRotated); err != nil {
			h.log.Warn("stream key rotated but the live publisher was not stopped", "gig", c.Param("id"), "err", err)
			writeError(c, http.StatusServiceUnavailable, codeUnavailable,
				"the stream key was replaced but the live stream could not be stopped: rotate the key again", "")
			return
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, StreamKeyResponse{StreamKey: key})
}

func (h *handlers) streamInfo(c *gin.Context) {
	id := c.Param("id")
	if _, err := h.d.Store.Get(c.Request.Context(), id); err != nil {
		h.fail(c, err)
		return
	}
	if h.d.StreamInfo == nil {
		writeError(c, http.StatusNotFound, codeNotFound, "the gig is not live", "")
		return
	}
	info, ok := h.d.StreamInfo(id)
	if !ok {
		writeError(c, http.StatusNotFound, codeNotFound, "the gig is not live", "")
		return
	}
	c.JSON(http.StatusOK, info)
}

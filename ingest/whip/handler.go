package whip

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
)

// takeoverIdle is how long our own WHIP publisher of a gig may have been
// silent before a new POST with the gig's key replaces it at once: the
// creator's encoder reconnecting after a network change, before the
// silence watchdog noticed. A publisher still sending gets 409.
const takeoverIdle = time.Second

// servePublish is POST /whip/{id}: RFC 9725 publish.
func (s *Server) servePublish(w http.ResponseWriter, r *http.Request) {
	s.sig.CORS(w, r)
	gigID := r.PathValue("id")
	if s.cfg.Keys == nil {
		httperr.Write(w, http.StatusServiceUnavailable, "whip_disabled", "publishing over WHIP is not configured on this server")
		return
	}
	if !rtc.CheckSDPType(w, r) {
		return
	}
	key := access.BearerToken(r)
	if key == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="whip"`)
		httperr.Write(w, http.StatusUnauthorized, "unauthorized", "send the gig's stream key as Authorization: Bearer <stream key>")
		return
	}
	owner, err := s.cfg.Keys.ResolveStreamKey(r.Context(), key)
	switch {
	case errors.Is(err, access.ErrUnknownKey):
		w.Header().Set("WWW-Authenticate", `Bearer realm="whip", error="invalid_token"`)
		httperr.Write(w, http.StatusUnauthorized, "unauthorized", "unknown stream key: copy it again from the gig's studio page")
		return
	case err != nil:
		// Not the key itself: it must never reach a log.
		s.log.Warn("whip stream key lookup failed", "gig", gigID, "err", err)
		httperr.Write(w, http.StatusInternalServerError, "internal", "could not check the stream key; try again")
		return
	case owner != gigID:
		httperr.Write(w, http.StatusForbidden, "wrong_gig", "this stream key belongs to another gig")
		return
	}
	body, ok := s.sig.ReadBody(w, r)
	if !ok {
		return
	}
	offer, err := parsePublishOffer(body)
	if err != nil {
		httperr.Write(w, http.StatusBadRequest, "bad_offer", err.Error())
		return
	}
	offer.sdp, _ = s.sig.FilterOffer(offer.sdp)
	if st, ok := s.reg.Get(gigID); ok && !st.Closed() {
		if old := s.publisherOf(st); old != nil && old.idle() > takeoverIdle {
			old.log.Info("whip publisher replaced by a reconnect", "idle", old.idle().Round(time.Millisecond))
			old.close("replaced by a reconnect")
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), rtc.GatherTimeout)
	defer cancel()
	p, answer, err := s.newPublisher(ctx, gigID, offer, s.cfg.ClientIP(r))
	if err != nil {
		switch {
		case errors.Is(err, media.ErrAlreadyLive):
			httperr.Write(w, http.StatusConflict, "already_live",
				"this gig is already live from another encoder or browser; stop that one first (or wait a few seconds after it dropped)")
		case errors.Is(err, ErrBadOffer):
			httperr.Write(w, http.StatusBadRequest, "bad_offer", err.Error())
		case errors.Is(err, ErrClosed):
			httperr.Write(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
		default:
			s.log.Warn("whip session setup failed", "gig", gigID, "err", err)
			httperr.Write(w, http.StatusInternalServerError, "internal", "could not set up the WebRTC session")
		}
		return
	}
	s.sig.WriteCreated(w, "/whip/"+gigID+"/"+p.id, p.ETag(), answer)
	p.log.Info("whip publisher joined", "remote", p.remoteIP, "video", p.videoMime, "audio", offer.audio,
		"setup", time.Since(p.created).Round(time.Microsecond))
}

// servePublishDelete is DELETE /whip/{id}/{session}: the creator ends the
// show.
func (s *Server) servePublishDelete(w http.ResponseWriter, r *http.Request) {
	s.sig.ServeDelete(w, r, s.findPublisher, "publisher hung up")
}

// servePublishPatch is PATCH /whip/{id}/{session}: trickled candidates, or
// an ICE restart (new ice-ufrag/ice-pwd), answered with our new credentials
// and candidates (RFC 9725 section 4.4).
func (s *Server) servePublishPatch(w http.ResponseWriter, r *http.Request) {
	s.sig.ServePatch(w, r, s.findPublisher, s.serveRestart)
}

// findPublisher is the rtc.Finder of WHIP sessions (pulls are none).
func (s *Server) findPublisher(gigID, id string) (rtc.Session, bool) {
	p, ok := s.pubs.Get(id)
	if !ok || p.gigID != gigID || p.relay {
		return nil, false
	}
	return p, true
}

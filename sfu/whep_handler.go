package sfu

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/internal/slots"
	"github.com/bookmygig/bookmygig/media"
)

// Route is one WHEP endpoint in net/http ServeMux pattern syntax; the
// handlers read r.PathValue("id") and r.PathValue("session").
type Route = rtc.Route

// Routes returns the WHEP endpoints (POST/OPTIONS /whep/{id},
// PATCH/DELETE/OPTIONS /whep/{id}/{session}).
func (s *SFU) Routes() []Route {
	return s.sig.Endpoints("/whep", s.servePost, s.servePatch, s.serveDelete)
}

// Handler returns a ServeMux serving Routes, to mount at "/whep/".
func (s *SFU) Handler() http.Handler { return rtc.Mux(s.Routes()) }

func (s *SFU) servePost(w http.ResponseWriter, r *http.Request) {
	s.sig.CORS(w, r)
	gigID := r.PathValue("id")
	remoteIP := s.cfg.ClientIP(r)
	addr := slots.AddrKey(remoteIP)
	relay := s.isRelay(r)
	// Every POST counts, first: a flood of offers, good or bad, costs the
	// flooder its own address's budget and nobody else's.
	// Relays (other nodes) are not limited.
	if !relay {
		if ok, retry := s.allowOffer(r.Context(), addr); !ok {
			s.ctr.rateLimited.Add(1)
			w.Header().Set("Retry-After", retryAfterSeconds(retry))
			httperr.Write(w, http.StatusTooManyRequests, "rate_limited", "too many WebRTC offers from this address; wait a few seconds and try again")
			return
		}
	}
	if !rtc.CheckSDPType(w, r) {
		return
	}
	screen := r.URL.Query().Get("screen")
	if !access.ValidScreen(screen) {
		httperr.Write(w, http.StatusBadRequest, "validation_failed", "screen must be at most 64 letters, digits, '-' or '_'")
		return
	}
	// A relay asks for this node's own stream only (no chains of pulls);
	// a viewer's request may bring the gig here from its origin.
	var st *media.Stream
	var ok bool
	if relay {
		st, ok = s.reg.Get(gigID)
	} else {
		st, ok = s.reg.Find(r.Context(), gigID)
	}
	if !ok || st.Closed() {
		httperr.Write(w, http.StatusNotFound, "gig_not_live", "this gig is not live right now")
		return
	}
	if s.hasBFrames(st) {
		httperr.Write(w, http.StatusConflict, "b_frames",
			"the creator's encoder sends B-frames, which browsers cannot play over WebRTC; watch over FLV meanwhile. "+
				"Fix for the creator: in OBS set Settings > Output > Streaming > B-frames to 0 (x264: bframes=0)")
		return
	}
	body, ok := s.sig.ReadBody(w, r)
	if !ok {
		return
	}
	if relay {
		s.serveRelay(w, r, gigID, st, body, remoteIP)
		return
	}
	// The slots come before the Gate: a media admission ends the ticket's
	// other screen, which must not happen for a viewer a cap turns away.
	if err := s.reserve(gigID, addr); err != nil {
		if errors.Is(err, slots.ErrAddrFull) {
			s.ctr.addrCapHits.Add(1)
			// Sessions that never connect are gone after ConnectTimeout.
			w.Header().Set("Retry-After", retryAfterSeconds(s.cfg.ConnectTimeout))
			httperr.Write(w, http.StatusTooManyRequests, "too_many_sessions", "this address already has as many WebRTC sessions as the server allows; close one and try again")
			return
		}
		s.ctr.capHits.Add(1)
		w.Header().Set("Retry-After", "30")
		httperr.Write(w, http.StatusServiceUnavailable, "viewer_cap", "this show has reached its WebRTC viewer limit; try again later or watch over FLV")
		return
	}
	// The Gate comes before the SDP parse and the PeerConnection, so a
	// request without a ticket costs no more than the ticket check.
	pass := s.admitViewer(w, r, gigID, screen)
	if pass == nil {
		s.release(gigID, addr)
		return
	}
	offer, err := parseOffer(body, videoMime(st))
	if err != nil {
		pass.Release()
		s.release(gigID, addr)
		httperr.Write(w, http.StatusBadRequest, "bad_offer", err.Error())
		return
	}
	offer.sdp, _ = s.sig.FilterOffer(offer.sdp)
	ctx, cancel := context.WithTimeout(r.Context(), rtc.GatherTimeout)
	defer cancel()
	v, answer, err := s.newSession(ctx, gigID, st, offer, remoteIP, addr, pass)
	if err != nil {
		pass.Release()
		s.release(gigID, addr)
		s.writeSetupError(w, "whep", gigID, err)
		return
	}
	s.sig.WriteCreated(w, "/whep/"+gigID+"/"+v.id, v.etag, answer)
	v.log.Info("webrtc viewer joined", "remote", v.remoteIP, "audio", v.audio != nil, "setup", time.Since(v.created).Round(time.Microsecond))
}

// allowOffer counts one WHEP offer from addr against OfferRate; when it is
// over, it says how long until the address may offer again.
func (s *SFU) allowOffer(ctx context.Context, addr string) (bool, time.Duration) {
	if s.offers == nil {
		return true, 0
	}
	ok, retry, _ := s.offers.Allow(ctx, addr, time.Now()) // Memory never fails
	return ok, retry
}

// writeSetupError answers a WHEP POST whose session could not be set up
// (kind "whep" or "relay", for the log).
func (s *SFU) writeSetupError(w http.ResponseWriter, kind, gigID string, err error) {
	switch {
	case errors.Is(err, ErrBadOffer):
		httperr.Write(w, http.StatusBadRequest, "bad_offer", err.Error())
	case errors.Is(err, ErrClosed):
		httperr.Write(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	default:
		s.log.Warn(kind+" session setup failed", "gig", gigID, "err", err)
		httperr.Write(w, http.StatusInternalServerError, "internal", "could not set up the WebRTC session")
	}
}

// retryAfterSeconds is d as a Retry-After value: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// serveDelete is DELETE /whep/{id}/{session}: the viewer leaves.
func (s *SFU) serveDelete(w http.ResponseWriter, r *http.Request) {
	s.sig.ServeDelete(w, r, s.findSession, "viewer hung up")
}

// servePatch is PATCH /whep/{id}/{session}: trickled candidates (ICE
// restarts are refused).
func (s *SFU) servePatch(w http.ResponseWriter, r *http.Request) {
	s.sig.ServePatch(w, r, s.findSession, nil)
}

package whip

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/webrtc/v4"
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
	s.sig.WriteCreated(w, "/whip/"+gigID+"/"+p.id, p.getETag(), answer)
	p.log.Info("whip publisher joined", "remote", p.remoteIP, "video", p.videoMime, "audio", offer.audio,
		"setup", time.Since(p.created).Round(time.Microsecond))
}

// servePublishDelete is DELETE /whip/{id}/{session}: the creator ends the
// show.
func (s *Server) servePublishDelete(w http.ResponseWriter, r *http.Request) {
	s.sig.ServeDelete(w, r, func(gigID, id string) (rtc.Session, bool) {
		p, ok := s.publisher(gigID, id)
		return p, ok
	}, "publisher hung up")
}

// servePublishPatch is PATCH /whip/{id}/{session}: trickled candidates, or
// an ICE restart (new ice-ufrag/ice-pwd), answered with our new credentials
// and candidates (RFC 9725 section 4.4).
func (s *Server) servePublishPatch(w http.ResponseWriter, r *http.Request) {
	s.sig.CORS(w, r)
	p, ok := s.publisher(r.PathValue("id"), r.PathValue("session"))
	if !ok {
		rtc.WriteNoSession(w)
		return
	}
	p.patchMu.Lock()
	defer p.patchMu.Unlock()
	frag, ok := s.sig.TrickleFragment(w, r, p.getETag())
	if !ok {
		return
	}
	if rtc.IsRestart(p.pc, frag) {
		answer, err := p.restartICE(r.Context(), p.pc.RemoteDescription().SDP, frag)
		if err != nil {
			httperr.Write(w, http.StatusBadRequest, "ice_restart_failed", err.Error())
			return
		}
		p.setETag(rtc.ETag(answer))
		w.Header().Set("Content-Type", rtc.MimeTrickle)
		w.Header().Set("ETag", p.getETag())
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, answerFragment(answer))
		p.log.Info("whip ice restart")
		return
	}
	s.sig.AddTrickled(w, p.pc, frag)
}

// restartICE renegotiates with the publisher's new ICE credentials (its
// previous offer otherwise unchanged) and returns our new answer.
func (p *publisher) restartICE(ctx context.Context, prev string, frag *rtc.TrickleFrag) (string, error) {
	if frag.Pwd == "" {
		return "", errors.New("an ICE restart needs both a=ice-ufrag and a=ice-pwd")
	}
	offer := replaceICECredentials(prev, frag.Ufrag, frag.Pwd)
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, rtc.GatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if err := p.srv.sig.AddCandidates(p.pc, frag); err != nil {
		return "", err
	}
	return p.pc.LocalDescription().SDP, nil
}

// replaceICECredentials puts new ice-ufrag/ice-pwd lines into an SDP.
func replaceICECredentials(sdp, ufrag, pwd string) string {
	lines := strings.Split(sdp, "\n")
	for i, l := range lines {
		cr := strings.HasSuffix(l, "\r")
		t := strings.TrimSuffix(l, "\r")
		switch {
		case strings.HasPrefix(t, "a=ice-ufrag:"):
			t = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(t, "a=ice-pwd:"):
			t = "a=ice-pwd:" + pwd
		default:
			continue
		}
		if cr {
			t += "\r"
		}
		lines[i] = t
	}
	return strings.Join(lines, "\n")
}

// answerFragment is the trickle-ice-sdpfrag of an answer: credentials, then
// each m-line's mid and candidates.
func answerFragment(sdp string) string {
	var b strings.Builder
	ufragDone, pwdDone := false, false
	for _, raw := range strings.Split(sdp, "\n") {
		l := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:") && !ufragDone:
			ufragDone = true
		case strings.HasPrefix(l, "a=ice-pwd:") && !pwdDone:
			pwdDone = true
		case strings.HasPrefix(l, "m="), strings.HasPrefix(l, "a=mid:"),
			strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
		default:
			continue
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

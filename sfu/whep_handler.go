package sfu

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/cors"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/slots"
	"github.com/bookmygig/bookmygig/media"
)

const (
	mimeSDP     = "application/sdp"
	mimeTrickle = "application/trickle-ice-sdpfrag"
	// gatherTimeout bounds ICE gathering; with the UDP mux and no STUN it
	// completes in microseconds.
	gatherTimeout = 5 * time.Second
)

// Route is one WHEP or WHIP endpoint in net/http ServeMux pattern syntax; the
// handlers read r.PathValue("id") and r.PathValue("session").
type Route struct {
	Method  string
	Pattern string
	Handler http.Handler
}

// Routes returns the WHEP endpoints (POST/OPTIONS /whep/{id},
// PATCH/DELETE/OPTIONS /whep/{id}/{session}) and the WHIP ones (the same
// under /whip/).
func (s *SFU) Routes() []Route {
	return []Route{
		{http.MethodPost, "/whip/{id}", http.HandlerFunc(s.servePublish)},
		{http.MethodOptions, "/whip/{id}", http.HandlerFunc(s.serveOptions)},
		{http.MethodPatch, "/whip/{id}/{session}", http.HandlerFunc(s.servePublishPatch)},
		{http.MethodDelete, "/whip/{id}/{session}", http.HandlerFunc(s.servePublishDelete)},
		{http.MethodOptions, "/whip/{id}/{session}", http.HandlerFunc(s.serveOptions)},
		{http.MethodPost, "/whep/{id}", http.HandlerFunc(s.servePost)},
		{http.MethodOptions, "/whep/{id}", http.HandlerFunc(s.serveOptions)},
		{http.MethodPatch, "/whep/{id}/{session}", http.HandlerFunc(s.servePatch)},
		{http.MethodDelete, "/whep/{id}/{session}", http.HandlerFunc(s.serveDelete)},
		{http.MethodOptions, "/whep/{id}/{session}", http.HandlerFunc(s.serveOptions)},
	}
}

// Handler returns a ServeMux serving Routes, to mount at "/whep/" and
// "/whip/".
func (s *SFU) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.Routes() {
		mux.Handle(r.Method+" "+r.Pattern, r.Handler)
	}
	return mux
}

// cors sets the CORS response headers when the request's origin is allowed;
// browser players on other origins need Location, Link, ETag and
// Accept-Patch exposed to find the session and the ICE servers.
func (s *SFU) cors(w http.ResponseWriter, r *http.Request) {
	cors.Origins(s.cfg.CORSOrigins).Set(w.Header(), r, cors.ExposeWebRTC)
}

func (s *SFU) serveOptions(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	h := w.Header()
	pre := cors.Preflight{Headers: "Authorization, Content-Type, If-Match", MaxAge: 24 * time.Hour}
	if r.PathValue("session") == "" {
		pre.Methods = "POST, OPTIONS"
		h.Set("Accept-Post", mimeSDP)
	} else {
		pre.Methods = "PATCH, DELETE, OPTIONS"
		h.Set("Accept-Patch", mimeTrickle)
	}
	pre.Set(h, r)
	w.WriteHeader(http.StatusNoContent)
}

func hasContentType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(mt, want)
}

func (s *SFU) readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxSDPBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.ctr.sdpTooLarge.Add(1)
			httperr.Write(w, http.StatusRequestEntityTooLarge, "sdp_too_large", "the SDP body is larger than the server accepts")
			return "", false
		}
		httperr.Write(w, http.StatusBadRequest, "bad_request", "could not read the request body")
		return "", false
	}
	return string(body), true
}

func (s *SFU) servePost(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
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
	if !hasContentType(r, mimeSDP) {
		httperr.Write(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the offer as Content-Type: application/sdp")
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
	body, ok := s.readBody(w, r)
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
	offer, err := parseOffer(body, s.videoMime(st))
	if err != nil {
		pass.Release()
		s.release(gigID, addr)
		httperr.Write(w, http.StatusBadRequest, "bad_offer", err.Error())
		return
	}
	offer.sdp, _ = s.filterOfferCandidates(offer.sdp)
	ctx, cancel := context.WithTimeout(r.Context(), gatherTimeout)
	defer cancel()
	v, answer, err := s.newSession(ctx, gigID, st, offer, remoteIP, addr, pass)
	if err != nil {
		pass.Release()
		s.release(gigID, addr)
		s.writeSetupError(w, "whep", gigID, err)
		return
	}
	s.writeCreated(w, "/whep/"+gigID+"/"+v.id, v.etag, answer)
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

// writeCreated answers a WHIP or WHEP POST: 201 with the SDP answer, the
// session's Location and ETag, trickle support and the ICE servers.
func (s *SFU) writeCreated(w http.ResponseWriter, location, etag, answer string) {
	h := w.Header()
	h.Set("Content-Type", mimeSDP)
	h.Set("Location", location)
	h.Set("ETag", etag)
	h.Set("Accept-Patch", mimeTrickle)
	for _, l := range s.linkHeaders() {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// linkHeaders announces the configured STUN/TURN servers (RFC 8288 links
// with rel="ice-server", as in WHIP RFC 9725 section 4.6).
func (s *SFU) linkHeaders() []string {
	var out []string
	for _, srv := range s.cfg.ICEServers {
		for _, u := range srv.URLs {
			l := "<" + u + `>; rel="ice-server"`
			if srv.Username != "" && (strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:")) {
				l += `; username="` + quoteEscape(srv.Username) + `"; credential="` + quoteEscape(srv.Credential) + `"; credential-type="password"`
			}
			out = append(out, l)
		}
	}
	return out
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func (s *SFU) serveDelete(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	v, ok := s.session(r.PathValue("id"), r.PathValue("session"))
	if !ok {
		// Clients often DELETE after the connection already closed the
		// session: normal, not worth more than debug.
		s.log.Debug("delete of unknown whep session", "gig", r.PathValue("id"))
		writeNoSession(w)
		return
	}
	v.close("viewer hung up")
	w.WriteHeader(http.StatusNoContent)
}

// writeNoSession answers a PATCH or DELETE for a session that is gone.
func writeNoSession(w http.ResponseWriter) {
	httperr.Write(w, http.StatusNotFound, "session_not_found", "no such session (it may have ended already)")
}

// trickleFragment checks a trickle-ICE PATCH (content type, If-Match
// against the session's etag) and parses its body; on a problem it has
// answered the request and reports false.
func (s *SFU) trickleFragment(w http.ResponseWriter, r *http.Request, etag string) (*trickleFrag, bool) {
	if !hasContentType(r, mimeTrickle) {
		httperr.Write(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send candidates as Content-Type: application/trickle-ice-sdpfrag")
		return nil, false
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag {
		httperr.Write(w, http.StatusPreconditionFailed, "etag_mismatch", "If-Match does not name this session's ICE session")
		return nil, false
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return nil, false
	}
	frag, err := parseTrickleFrag(body)
	if err != nil {
		httperr.Write(w, http.StatusBadRequest, "bad_fragment", err.Error())
		return nil, false
	}
	return frag, true
}

func (s *SFU) servePatch(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	v, ok := s.session(r.PathValue("id"), r.PathValue("session"))
	if !ok {
		writeNoSession(w)
		return
	}
	frag, ok := s.trickleFragment(w, r, v.etag)
	if !ok {
		return
	}
	if rd := v.pc.RemoteDescription(); frag.ufrag != "" && rd != nil && frag.ufrag != iceUfrag(rd.SDP) {
		httperr.Write(w, http.StatusUnprocessableEntity, "ice_restart_unsupported", "ICE restarts are not supported: DELETE this session and POST a new offer")
		return
	}
	if err := s.addCandidates(v.pc, frag); err != nil {
		httperr.Write(w, http.StatusBadRequest, "bad_candidate", "candidate rejected: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

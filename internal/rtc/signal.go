package rtc

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/cors"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/pion/webrtc/v4"
)

const (
	// MimeSDP is the content type of offers and answers.
	MimeSDP = "application/sdp"
	// MimeTrickle is the content type of trickle and ICE-restart PATCHes.
	MimeTrickle = "application/trickle-ice-sdpfrag"
	// GatherTimeout bounds ICE gathering; with the UDP mux and no STUN it
	// completes in microseconds.
	GatherTimeout = 5 * time.Second
)

// ICEServer is a STUN or TURN server announced to clients in `Link` headers
// (RFC 8288 rel="ice-server", as WHIP/WHEP specify). The server itself does
// not use them: it announces PublicIPs instead.
type ICEServer struct {
	// URLs like "stun:stun.example.net:3478" or
	// "turn:turn.example.net:3478?transport=udp".
	URLs []string
	// Username and Credential for TURN (long-term credentials).
	Username   string
	Credential string
}

// Signal is the HTTP side of WHIP and WHEP that both share (RFC 9725 and
// the WHEP draft have one resource model): CORS, the SDP body limit, the
// 201 answer with its Link headers, trickle PATCH checks, DELETE, and the
// remote candidate filter. sfu (WHEP) and ingest/whip (WHIP) each hold one,
// with their own counters.
type Signal struct {
	SignalConfig
	// Kind names the endpoints in logs ("whep", "whip").
	Kind string
	// Log receives the debug line of a DELETE for a gone session.
	Log *slog.Logger

	// SDPTooLarge counts bodies over MaxSDPBytes; CandidatesDropped the
	// remote candidates FilterOffer and FilterFrag removed.
	SDPTooLarge, CandidatesDropped atomic.Uint64
}

// SignalConfig is the signalling settings WHIP and WHEP share (one set of
// flags).
type SignalConfig struct {
	// CORSOrigins may call the endpoints from a browser on another origin
	// ("*" = any).
	CORSOrigins []string
	// MaxSDPBytes caps an offer or trickle body.
	MaxSDPBytes int64
	// ICEServers are announced in Link headers.
	ICEServers []ICEServer
	// AllowPrivateCandidates keeps remote candidates with non-public
	// addresses (candidate_filter.go).
	AllowPrivateCandidates bool
}

// NewSignal returns the signalling of the endpoints kind ("whep", "whip").
func NewSignal(kind string, cfg SignalConfig, log *slog.Logger) *Signal {
	return &Signal{SignalConfig: cfg, Kind: kind, Log: log}
}

// CORS sets the CORS response headers when the request's origin is allowed;
// browser players on other origins need Location, Link, ETag and
// Accept-Patch exposed to find the session and the ICE servers.
func (s *Signal) CORS(w http.ResponseWriter, r *http.Request) {
	cors.Origins(s.CORSOrigins).Set(w.Header(), r, cors.ExposeWebRTC)
}

// ServeOptions answers OPTIONS on an endpoint or a session.
func (s *Signal) ServeOptions(w http.ResponseWriter, r *http.Request) {
	s.CORS(w, r)
	h := w.Header()
	pre := cors.Preflight{Headers: "Authorization, Content-Type, If-Match", MaxAge: 24 * time.Hour}
	if r.PathValue("session") == "" {
		pre.Methods = "POST, OPTIONS"
		h.Set("Accept-Post", MimeSDP)
	} else {
		pre.Methods = "PATCH, DELETE, OPTIONS"
		h.Set("Accept-Patch", MimeTrickle)
	}
	pre.Set(h, r)
	w.WriteHeader(http.StatusNoContent)
}

// HasContentType reports whether r's body is of media type want.
func HasContentType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(mt, want)
}

// CheckSDPType answers 415 unless r carries an SDP offer.
func CheckSDPType(w http.ResponseWriter, r *http.Request) bool {
	if !HasContentType(r, MimeSDP) {
		httperr.Write(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the offer as Content-Type: application/sdp")
		return false
	}
	return true
}

// ReadBody reads an SDP or trickle body up to MaxSDPBytes; on a problem it
// has answered the request and reports false.
func (s *Signal) ReadBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxSDPBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.SDPTooLarge.Add(1)
			httperr.Write(w, http.StatusRequestEntityTooLarge, "sdp_too_large", "the SDP body is larger than the server accepts")
			return "", false
		}
		httperr.Write(w, http.StatusBadRequest, "bad_request", "could not read the request body")
		return "", false
	}
	return string(body), true
}

// WriteCreated answers a WHIP or WHEP POST: 201 with the SDP answer, the
// session's Location and ETag, trickle support and the ICE servers.
func (s *Signal) WriteCreated(w http.ResponseWriter, location, etag, answer string) {
	h := w.Header()
	h.Set("Content-Type", MimeSDP)
	h.Set("Location", location)
	h.Set("ETag", etag)
	h.Set("Accept-Patch", MimeTrickle)
	for _, l := range s.linkHeaders() {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// linkHeaders announces the configured STUN/TURN servers (RFC 8288 links
// with rel="ice-server", as in WHIP RFC 9725 section 4.6).
func (s *Signal) linkHeaders() []string {
	var out []string
	for _, srv := range s.ICEServers {
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

// Session is what the shared PATCH and DELETE handling needs of a WHIP or
// WHEP session. A Session that is also a sync.Locker is locked for the
// whole of a PATCH, so trickles and ICE restarts do not interleave.
type Session interface {
	// PeerConnection is the session's connection.
	PeerConnection() *webrtc.PeerConnection
	// ETag names the session's current ICE session (If-Match).
	ETag() string
	// Close ends the session (idempotent) and returns when it has.
	Close(reason string)
}

// LiteSession is a Session served by icelite instead of a PeerConnection
// (whose PeerConnection is nil).
type LiteSession interface {
	Session
	// RemoteUfrag is the offer's ice-ufrag.
	RemoteUfrag() string
}

// Finder returns a gig's session by ID.
type Finder func(gigID, id string) (Session, bool)

// Endpoints returns the five routes of a WHIP or WHEP endpoint under prefix
// ("/whip", "/whep"): POST and OPTIONS on {prefix}/{id}, PATCH, DELETE and
// OPTIONS on {prefix}/{id}/{session}.
func (s *Signal) Endpoints(prefix string, post, patch, del http.HandlerFunc) []Route {
	return []Route{
		{Method: http.MethodPost, Pattern: prefix + "/{id}", Handler: post},
		{Method: http.MethodOptions, Pattern: prefix + "/{id}", Handler: http.HandlerFunc(s.ServeOptions)},
		{Method: http.MethodPatch, Pattern: prefix + "/{id}/{session}", Handler: patch},
		{Method: http.MethodDelete, Pattern: prefix + "/{id}/{session}", Handler: del},
		{Method: http.MethodOptions, Pattern: prefix + "/{id}/{session}", Handler: http.HandlerFunc(s.ServeOptions)},
	}
}

// ServePatch is PATCH {endpoint}/{id}/{session}: trickled candidates, or an
// ICE restart (new ice-ufrag/ice-pwd) that restart answers; a nil restart
// refuses restarts (422).
func (s *Signal) ServePatch(w http.ResponseWriter, r *http.Request, find Finder, restart func(http.ResponseWriter, *http.Request, Session, *TrickleFrag)) {
	s.CORS(w, r)
	v, ok := find(r.PathValue("id"), r.PathValue("session"))
	if !ok {
		WriteNoSession(w)
		return
	}
	if l, ok := v.(sync.Locker); ok {
		l.Lock()
		defer l.Unlock()
	}
	frag, ok := s.TrickleFragment(w, r, v.ETag())
	if !ok {
		return
	}
	pc := v.PeerConnection()
	if ls, ok := v.(LiteSession); ok && pc == nil {
		// ICE-lite (icelite): the peer's own checks find us, its
		// candidates are not needed; a new ufrag is still a restart.
		if frag.Ufrag != "" && frag.Ufrag != ls.RemoteUfrag() {
			httperr.Write(w, http.StatusUnprocessableEntity, "ice_restart_unsupported", "ICE restarts are not supported: DELETE this session and POST a new offer")
			return
		}
		s.FilterFrag(frag)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if rd := pc.RemoteDescription(); frag.Ufrag != "" && rd != nil && frag.Ufrag != ICEUfrag(rd.SDP) {
		if restart == nil {
			httperr.Write(w, http.StatusUnprocessableEntity, "ice_restart_unsupported", "ICE restarts are not supported: DELETE this session and POST a new offer")
			return
		}
		restart(w, r, v, frag)
		return
	}
	if err := s.AddCandidates(pc, frag); err != nil {
		httperr.Write(w, http.StatusBadRequest, "bad_candidate", "candidate rejected: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ServeDelete is DELETE {endpoint}/{id}/{session}: the client ends the
// session (closing it with reason), or it is gone already.
func (s *Signal) ServeDelete(w http.ResponseWriter, r *http.Request, find Finder, reason string) {
	s.CORS(w, r)
	v, ok := find(r.PathValue("id"), r.PathValue("session"))
	if !ok {
		// Clients often DELETE after the connection already closed the
		// session: normal, not worth more than debug.
		if s.Log != nil {
			s.Log.Debug("delete of unknown "+s.Kind+" session", "gig", r.PathValue("id"))
		}
		WriteNoSession(w)
		return
	}
	v.Close(reason)
	w.WriteHeader(http.StatusNoContent)
}

// WriteNoSession answers a PATCH or DELETE for a session that is gone.
func WriteNoSession(w http.ResponseWriter) {
	httperr.Write(w, http.StatusNotFound, "session_not_found", "no such session (it may have ended already)")
}

// TrickleFragment checks a trickle-ICE PATCH (content type, If-Match
// against the session's etag) and parses its body; on a problem it has
// answered the request and reports false.
func (s *Signal) TrickleFragment(w http.ResponseWriter, r *http.Request, etag string) (*TrickleFrag, bool) {
	if !HasContentType(r, MimeTrickle) {
		httperr.Write(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send candidates as Content-Type: application/trickle-ice-sdpfrag")
		return nil, false
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag {
		httperr.Write(w, http.StatusPreconditionFailed, "etag_mismatch", "If-Match does not name this session's ICE session")
		return nil, false
	}
	body, ok := s.ReadBody(w, r)
	if !ok {
		return nil, false
	}
	frag, err := ParseTrickleFrag(body)
	if err != nil {
		httperr.Write(w, http.StatusBadRequest, "bad_fragment", err.Error())
		return nil, false
	}
	return frag, true
}

// AddCandidates adds a fragment's trickled candidates, those with
// non-public addresses dropped unless AllowPrivateCandidates.
func (s *Signal) AddCandidates(pc *webrtc.PeerConnection, frag *TrickleFrag) error {
	s.FilterFrag(frag)
	for _, c := range frag.Candidates {
		init := webrtc.ICECandidateInit{Candidate: c.Candidate}
		if c.Mid != "" {
			mid := c.Mid
			init.SDPMid = &mid
		} else {
			var zero uint16
			init.SDPMLineIndex = &zero
		}
		if err := pc.AddICECandidate(init); err != nil {
			return err
		}
	}
	return nil
}

// Route is one WHEP or WHIP endpoint in net/http ServeMux pattern syntax; the
// handlers read r.PathValue("id") and r.PathValue("session").
type Route struct {
	Method  string
	Pattern string
	Handler http.Handler
}

// Mux returns a ServeMux serving routes.
func Mux(routes []Route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.Method+" "+r.Pattern, r.Handler)
	}
	return mux
}

// HeaderMediaClock on a relay's 201 says that the RTP timestamps of every
// track are the stream's media time times the clock rate (no random
// offsets), so the edge can line audio up with video exactly: the cached
// GOP a relay starts with arrives in a burst, and arrival times would put
// the video ahead of the audio by the GOP's age.
const (
	HeaderMediaClock = "X-Media-Clock"
	MediaClockStream = "stream"
)

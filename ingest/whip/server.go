package whip

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/webrtc/v4"
)

// Server is WebRTC ingest: WHIP publishers (POST /whip/{id}) and relay
// pulls of gigs from other nodes (Pull). Each becomes a media.Stream with an
// RTPFeed (media/rtp_feed.go), published in the Registry; WebRTC playback
// (sfu) forwards the feed's packets, FLV and the transcoder read the frames.
type Server struct {
	cfg  Config
	log  *slog.Logger
	reg  *media.Registry
	port *rtc.Port
	sig  rtc.Signal
	// pubAPI negotiates WHIP publishers (receive-side interceptors).
	pubAPI *webrtc.API
	// pullAPI negotiates relay pulls from other nodes (pull.go).
	pullAPI *webrtc.API

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	// publishers are the WHIP sessions and the pulls by session ID.
	publishers map[string]*publisher
}

// New returns a running Server on port, the node's ICE port that WHEP
// playback shares; its Close does not close port.
func New(cfg Config, port *rtc.Port, reg *media.Registry, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "whip")
	cfg.setDefaults()
	pub, err := newPublisherAPI(port.SettingEngine())
	if err != nil {
		return nil, err
	}
	// Relays between nodes over UDP only: a pull over ICE-TCP costs the
	// origin a TCP write per packet (no GSO batching) and adds
	// head-of-line waits. Nodes of a cluster reach each other over UDP.
	pse := port.SettingEngine()
	pse.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	pulls, err := newPullAPI(pse)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:        cfg,
		log:        log,
		reg:        reg,
		port:       port,
		pubAPI:     pub,
		pullAPI:    pulls,
		ctx:        ctx,
		cancel:     cancel,
		publishers: make(map[string]*publisher),
	}
	s.sig = rtc.Signal{
		CORSOrigins:            cfg.CORSOrigins,
		MaxSDPBytes:            cfg.MaxSDPBytes,
		ICEServers:             cfg.ICEServers,
		AllowPrivateCandidates: cfg.AllowPrivateCandidates,
		Kind:                   "whip",
		Log:                    log,
	}
	return s, nil
}

// Routes returns the WHIP endpoints (POST/OPTIONS /whip/{id},
// PATCH/DELETE/OPTIONS /whip/{id}/{session}).
func (s *Server) Routes() []rtc.Route {
	return []rtc.Route{
		{Method: http.MethodPost, Pattern: "/whip/{id}", Handler: http.HandlerFunc(s.servePublish)},
		{Method: http.MethodOptions, Pattern: "/whip/{id}", Handler: http.HandlerFunc(s.sig.ServeOptions)},
		{Method: http.MethodPatch, Pattern: "/whip/{id}/{session}", Handler: http.HandlerFunc(s.servePublishPatch)},
		{Method: http.MethodDelete, Pattern: "/whip/{id}/{session}", Handler: http.HandlerFunc(s.servePublishDelete)},
		{Method: http.MethodOptions, Pattern: "/whip/{id}/{session}", Handler: http.HandlerFunc(s.sig.ServeOptions)},
	}
}

// Handler returns a ServeMux serving Routes, to mount at "/whip/".
func (s *Server) Handler() http.Handler { return rtc.Mux(s.Routes()) }

// Publishers returns the number of WHIP broadcasts on this node.
func (s *Server) Publishers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.publishers {
		if !p.relay {
			n++
		}
	}
	return n
}

// Close ends every publisher and pull. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	pubs := make([]*publisher, 0, len(s.publishers))
	for _, p := range s.publishers {
		pubs = append(pubs, p)
	}
	s.mu.Unlock()
	s.cancel()
	for _, p := range pubs {
		p.close("server shutdown")
	}
	s.wg.Wait()
}

// addPublisher registers p until it closes.
func (s *Server) addPublisher(p *publisher) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.publishers[p.id] = p
	return nil
}

func (s *Server) removePublisher(p *publisher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publishers[p.id] == p {
		delete(s.publishers, p.id)
	}
}

// publisher returns the gig's WHIP session id (not a pull).
func (s *Server) publisher(gigID, id string) (*publisher, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.publishers[id]
	if !ok || p.gigID != gigID || p.relay {
		return nil, false
	}
	return p, true
}

// publisherOf returns this node's WHIP publisher of st, if any.
func (s *Server) publisherOf(st *media.Stream) *publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.publishers {
		if p.stream == st {
			return p
		}
	}
	return nil
}

// Counters is a snapshot of the WHIP signalling counters.
type Counters struct {
	// SDPTooLarge counts offer and trickle bodies over MaxSDPBytes.
	SDPTooLarge uint64
	// CandidatesDropped counts remote ICE candidates with non-public
	// addresses removed from offers and trickle PATCHes.
	CandidatesDropped uint64
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	return Counters{SDPTooLarge: s.sig.SDPTooLarge.Load(), CandidatesDropped: s.sig.CandidatesDropped.Load()}
}

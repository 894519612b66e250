package whip

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
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
	sig  *rtc.Signal
	apis *apis

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// pubs are the WHIP sessions and the pulls by session ID.
	pubs rtc.Sessions[*publisher]
}

// New returns a running Server on port, the node's ICE port that WHEP
// playback shares; its Close does not close port.
func New(cfg Config, port *rtc.Port, reg *media.Registry, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "whip")
	cfg.setDefaults()
	apis, err := newAPIs(port)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, reg: reg, port: port, apis: apis}
	s.sig = rtc.NewSignal("whip", cfg.Signaling, log)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Routes returns the WHIP endpoints (POST/OPTIONS /whip/{id},
// PATCH/DELETE/OPTIONS /whip/{id}/{session}).
func (s *Server) Routes() []rtc.Route {
	return s.sig.Endpoints("/whip", s.servePublish, s.servePublishPatch, s.servePublishDelete)
}

// Handler returns a ServeMux serving Routes, to mount at "/whip/".
func (s *Server) Handler() http.Handler { return rtc.Mux(s.Routes()) }

// Publishers returns the number of WHIP broadcasts on this node.
func (s *Server) Publishers() int {
	n := 0
	for _, p := range s.pubs.All() {
		if !p.relay {
			n++
		}
	}
	return n
}

// Close ends every publisher and pull. It is idempotent.
func (s *Server) Close() {
	pubs, first := s.pubs.Close()
	if !first {
		return
	}
	s.cancel()
	for _, p := range pubs {
		p.close("server shutdown")
	}
	s.wg.Wait()
}

// addPublisher registers p until it closes.
func (s *Server) addPublisher(p *publisher) error {
	if !s.pubs.Add(p.id, p) {
		return ErrClosed
	}
	return nil
}

// publisherOf returns this node's WHIP publisher of st, if any.
func (s *Server) publisherOf(st *media.Stream) *publisher {
	for _, p := range s.pubs.All() {
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

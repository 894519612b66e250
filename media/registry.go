package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// EventType says what happened to a gig's stream.
type EventType int

// Registry events.
const (
	// Published: a stream went live for the gig.
	Published EventType = iota + 1
	// Unpublished: the gig's stream ended.
	Unpublished
)

// Event tells listeners that a gig went live or ended.
type Event struct {
	Type   EventType
	GigID  string
	Stream *Stream
}

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// StaleAfter is how long a publisher may send nothing before a new
	// publisher is allowed to take the gig over. Default 5 s.
	StaleAfter time.Duration
}

// Registry maps gig IDs to their live Stream. At most one stream is live per
// gig at a time.
type Registry struct {
	cfg RegistryConfig
	log *slog.Logger

	mu      sync.Mutex
	streams map[string]*Stream

	// hookMu serializes event delivery so listeners see events in order.
	hookMu sync.Mutex
	hooks  []func(Event)

	finder atomic.Pointer[Finder]
}

// SourceRelay is the Source of a stream pulled from another node of a
// cluster (an edge's copy of the origin's stream). It is not a publisher:
// such a stream neither claims the gig nor ends it when it stops.
const SourceRelay = "relay"

// Finder is asked for a gig's stream when none is live on this node: a
// cluster node pulls it from the node the creator publishes to and returns
// the local copy once it is published here. It returns ErrNotLive when no
// node has the gig live.
type Finder func(ctx context.Context, gigID string) (*Stream, error)

// SetFinder sets the Finder that Find asks on a miss.
func (r *Registry) SetFinder(fn Finder) {
	r.finder.Store(&fn)
}

// Find returns the gig's live stream on this node, else asks the Finder
// (set by SetFinder) to bring it here. Viewers' requests use Find; relays
// between nodes use Get, so that they never start pulls of their own.
func (r *Registry) Find(ctx context.Context, gigID string) (*Stream, bool) {
	if s, ok := r.Get(gigID); ok && !s.Closed() {
		return s, true
	}
	fn := r.finder.Load()
	if fn == nil {
		return nil, false
	}
	s, err := (*fn)(ctx, gigID)
	if err != nil || s == nil || s.Closed() {
		if err != nil && !errors.Is(err, ErrNotLive) && ctx.Err() == nil {
			r.log.Warn("could not bring the gig's stream to this node", "gig", gigID, "err", err)
		}
		return nil, false
	}
	return s, true
}

// NewRegistry returns an empty Registry.
func NewRegistry(cfg RegistryConfig, log *slog.Logger) *Registry {
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{cfg: cfg, log: log, streams: make(map[string]*Stream)}
}

// OnEvent registers fn to be called, in order, for every Published and
// Unpublished event. fn runs on the publisher's goroutine: it must be quick
// (start a goroutine for slow work such as a store update).
func (r *Registry) OnEvent(fn func(Event)) {
	r.hookMu.Lock()
	defer r.hookMu.Unlock()
	r.hooks = append(r.hooks, fn)
}

// Publish makes s the gig's live stream. A gig whose current publisher has
// written within StaleAfter is refused with ErrAlreadyLive; a stale one is
// closed and replaced, and so is a relayed copy (SourceRelay) when s comes
// from a publisher.
func (r *Registry) Publish(s *Stream) error {
	r.mu.Lock()
	old := r.streams[s.GigID()]
	// A relayed copy gives way to the creator's own stream: the publisher
	// reconnected to this node, which becomes the gig's origin.
	takeover := old != nil && old.Source() == SourceRelay && s.Source() != SourceRelay
	if old != nil && !old.Closed() && !takeover && time.Since(old.LastWrite()) < r.cfg.StaleAfter {
		r.mu.Unlock()
		return fmt.Errorf("publish gig %s: %w", s.GigID(), ErrAlreadyLive)
	}
	r.streams[s.GigID()] = s
	r.mu.Unlock()
	if old != nil {
		if takeover {
			r.log.Info("publisher takes over from the relayed copy", "gig", s.GigID())
		} else {
			r.log.Info("replacing stale publisher", "gig", s.GigID(), "idle", time.Since(old.LastWrite()).Round(time.Millisecond))
		}
		old.Close()
		r.emit(Event{Type: Unpublished, GigID: old.GigID(), Stream: old})
	}
	r.emit(Event{Type: Published, GigID: s.GigID(), Stream: s})
	return nil
}

// Unpublish ends s. It does nothing if s is no longer the gig's stream
// (a newer publisher took over), except closing s.
func (r *Registry) Unpublish(s *Stream) {
	r.mu.Lock()
	current := r.streams[s.GigID()] == s
	if current {
		delete(r.streams, s.GigID())
	}
	r.mu.Unlock()
	s.Close()
	if current {
		r.emit(Event{Type: Unpublished, GigID: s.GigID(), Stream: s})
	}
}

// Kick ends the gig's live stream from outside its publisher (the show was
// ended or its stream key rotated): the stream is unpublished and closed
// with a cause wrapping ErrKicked, and its publisher, which watches Done,
// disconnects. It reports whether the gig had a live stream here.
func (r *Registry) Kick(gigID string, cause error) bool {
	r.mu.Lock()
	s := r.streams[gigID]
	r.mu.Unlock()
	if s == nil {
		return false
	}
	if cause == nil {
		cause = ErrKicked
	} else if !errors.Is(cause, ErrKicked) {
		cause = fmt.Errorf("%w: %w", ErrKicked, cause)
	}
	s.CloseWithCause(cause)
	r.Unpublish(s)
	r.log.Info("stream ended from outside its publisher", "gig", gigID, "reason", cause)
	return true
}

// Get returns the gig's live stream.
func (r *Registry) Get(gigID string) (*Stream, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.streams[gigID]
	return s, ok
}

// Streams returns every live stream.
func (r *Registry) Streams() []*Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Stream, 0, len(r.streams))
	for _, s := range r.streams {
		out = append(out, s)
	}
	return out
}

// GigViewers returns the viewers of the gig's live stream on this node by
// protocol (empty when it is not live here). The stream owns the count
// (Stream.AddViewer); chat presence and the API read it here.
func (r *Registry) GigViewers(gigID string) map[string]int {
	s, ok := r.Get(gigID)
	if !ok {
		return map[string]int{}
	}
	return s.ViewerCounts()
}

// LiveGigs returns the gigs with a live stream on this node.
func (r *Registry) LiveGigs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Keys(r.streams))
}

// CloseAll ends every stream, for shutdown.
func (r *Registry) CloseAll() {
	for _, s := range r.Streams() {
		r.Unpublish(s)
	}
}

func (r *Registry) emit(ev Event) {
	r.hookMu.Lock()
	defer r.hookMu.Unlock()
	for _, fn := range r.hooks {
		fn(ev)
	}
}

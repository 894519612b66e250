package media

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/cow"
)

// Reader receives a Stream's tracks and frames. Both methods are called on
// the writer's goroutine with the stream locked: they must return quickly and
// never block (queue, drop or skip instead), and must not call back into the
// Stream (Attach/detach) from inside the callback.
type Reader interface {
	// OnTrack is called for every current track when the reader attaches,
	// and again whenever a track is added or its parameters change, always
	// before the first frame that depends on it.
	OnTrack(t *Track)
	// OnFrame is called for every frame, in write order.
	OnFrame(f *Frame)
}

// StreamConfig configures a Stream.
type StreamConfig struct {
	// GigID is the gig this stream belongs to.
	GigID string
	// Source names the ingest protocol ("rtmp", "whip").
	Source string
	// GOPMaxBytes caps the GOP cache; a GOP larger than this is not cached
	// and new readers wait for the next keyframe. Default 16 MiB.
	GOPMaxBytes int
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
	// RTP is the source's packets when it sends RTP (rtp_feed.go); nil
	// for RTMP.
	RTP *RTPFeed
}

// Stream is one live show: one publisher writes tracks and frames, many
// readers receive them. It caches the current GOP (last keyframe onwards)
// so a reader that attaches mid-stream starts with a decodable picture.
type Stream struct {
	cfg     StreamConfig
	log     *slog.Logger
	started time.Time

	mu     sync.Mutex
	tracks []*Track
	// readers are changed and called with mu held.
	readers cow.List[Reader]
	gop     gopCache
	closed  bool
	// cause is why the stream ended (Err), set before done is closed.
	cause error

	done      chan struct{}
	lastWrite atomic.Int64
	stats     statsCollector
	viewers   viewerCounts
}

// NewStream returns an open Stream.
func NewStream(cfg StreamConfig, log *slog.Logger) *Stream {
	if cfg.GOPMaxBytes <= 0 {
		cfg.GOPMaxBytes = 16 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now()
	s := &Stream{
		cfg:     cfg,
		log:     log,
		started: now,
		done:    make(chan struct{}),
		gop:     gopCache{maxBytes: cfg.GOPMaxBytes},
	}
	s.lastWrite.Store(now.UnixNano())
	s.stats.init(now)
	return s
}

// GigID returns the gig this stream belongs to.
func (s *Stream) GigID() string { return s.cfg.GigID }

// Source returns the ingest protocol name.
func (s *Stream) Source() string { return s.cfg.Source }

// StartedAt returns when the stream was created.
func (s *Stream) StartedAt() time.Time { return s.started }

// Done is closed when the stream ends.
func (s *Stream) Done() <-chan struct{} { return s.done }

// LastWrite returns the time of the last frame written (or of creation).
func (s *Stream) LastWrite() time.Time { return time.Unix(0, s.lastWrite.Load()) }

// SetTrack adds a track or replaces the track with the same codec (a new
// sequence header), and tells every reader.
func (s *Stream) SetTrack(t *Track) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	replaced := false
	next := make([]*Track, 0, len(s.tracks)+1)
	for _, old := range s.tracks {
		if old.Codec == t.Codec {
			next = append(next, t)
			replaced = true
			continue
		}
		next = append(next, old)
	}
	if !replaced {
		next = append(next, t)
	}
	s.tracks = next
	if replaced && t.Codec.IsVideo() {
		// Cached frames were coded with the old parameters.
		s.gop.reset()
	}
	for _, r := range s.readers.Load() {
		r.OnTrack(t)
	}
}

// Tracks returns the current tracks. The slice must not be modified.
func (s *Stream) Tracks() []*Track {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tracks
}

// Track returns the track with codec c, or nil.
func (s *Stream) Track(c Codec) *Track {
	return findTrack(s.Tracks(), func(t *Track) bool { return t.Codec == c })
}

// VideoTrack returns the video track, or nil.
func (s *Stream) VideoTrack() *Track { return findTrack(s.Tracks(), isVideo) }

// findTrack returns the first of ts that match accepts, or nil. ts is never
// changed in place (SetTrack replaces the slice), so it is read unlocked.
func findTrack(ts []*Track, match func(*Track) bool) *Track {
	if i := slices.IndexFunc(ts, match); i >= 0 {
		return ts[i]
	}
	return nil
}

func isVideo(t *Track) bool { return t.Codec.IsVideo() }

// WriteFrame hands f to every reader and the GOP cache. f must not be
// modified afterwards. It never blocks on readers. An H.264 frame written
// without NALUs is split here, before any reader sees it.
func (s *Stream) WriteFrame(f *Frame) error {
	if f.Codec == CodecH264 && f.NALUs == nil {
		if err := f.splitH264(); err != nil {
			s.log.Debug("malformed h264 access unit", "err", err)
		}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStreamClosed
	}
	s.lastWrite.Store(now.UnixNano())
	s.stats.add(f, now)
	s.gop.add(f, s.hasVideoLocked())
	for _, r := range s.readers.Load() {
		r.OnFrame(f)
	}
	return nil
}

func (s *Stream) hasVideoLocked() bool { return slices.ContainsFunc(s.tracks, isVideo) }

// Attach adds r. r first receives every current track, then (if fromGOP)
// the cached GOP, then live frames, with no gap and no duplicate between
// them. The returned detach function removes r; after it returns, r receives
// nothing more. detach is idempotent and must not be called from inside a
// Reader callback. Attaching to a closed stream returns ErrStreamClosed.
func (s *Stream) Attach(r Reader, fromGOP bool) (detach func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return func() {}, ErrStreamClosed
	}
	for _, t := range s.tracks {
		r.OnTrack(t)
	}
	if fromGOP {
		for _, f := range s.gop.frames {
			r.OnFrame(f)
		}
	}
	s.readers.Add(r)
	var once sync.Once
	return func() { once.Do(func() { s.detach(r) }) }, nil
}

func (s *Stream) detach(r Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readers.Remove(r)
}

// GOP returns a snapshot of the cached frames from the last keyframe on.
func (s *Stream) GOP() []*Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Frame(nil), s.gop.frames...)
}

// ReadGOP calls fn with the cached frames from the last keyframe on (none
// when no GOP is cached), while no frame or track can be written: a Reader
// that fans out to consumers of its own (an FLV feed's viewers) hands a new
// one this GOP and then its live output, with no gap and no duplicate, as
// Attach does for Readers. fn runs with the stream locked: it must be quick,
// must not keep gop, and must not call back into the Stream.
func (s *Stream) ReadGOP(fn func(gop []*Frame)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.gop.frames)
}

// Close ends the stream: Done is closed and readers are dropped. It is
// idempotent.
func (s *Stream) Close() { s.CloseWithCause(ErrStreamClosed) }

// CloseWithCause is Close recording why the stream ended, for its publisher
// to read with Err. The first call wins.
func (s *Stream) CloseWithCause(cause error) {
	if cause == nil {
		cause = ErrStreamClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.cause = cause
	s.readers.Clear()
	s.gop.reset()
	close(s.done)
}

// Err is nil while the stream is open, then why it ended: ErrStreamClosed
// for an ordinary end, or the cause given to CloseWithCause (Registry.Kick
// gives one wrapping ErrKicked).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}

// Closed reports whether Close was called.
func (s *Stream) Closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

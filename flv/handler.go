// Package flv serves live streams to legacy players (flv.js, mpegts.js,
// ffplay, VLC) as HTTP-FLV and WebSocket-FLV.
//
// Each stream has one feed (a media.Reader) that builds every FLV tag once;
// viewers get pointers to those shared, immutable tags in bounded queues
// and write them with one writev per batch. Tags keep the stream's own
// timestamps (DTS relative to the publisher's first frame) instead of
// restarting at 0 per viewer: that way a tag's bytes are identical for every
// viewer and no per-viewer rewrite or copy is needed, and flv.js, mpegts.js,
// ffmpeg and VLC all rebase on the first timestamp they see. Viewers that
// move on to a gig's next stream (reconnect.go) get it from a feed that
// shifts that stream's timestamps once, for all of them, so theirs go on.
package flv

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/cors"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/slots"
	"github.com/bookmygig/bookmygig/media"
)

// Handler serves GET /live/{file} where file is "<gigID>.flv". The router
// must copy the path parameter with r.SetPathValue("file", ...).
type Handler struct {
	cfg Config
	reg *media.Registry
	log *slog.Logger
	up  websocket.Upgrader

	mu      sync.Mutex
	closed  bool
	feeds   map[*media.Stream]*feed
	viewers map[*viewer]sink
	// slots counts the requests holding a viewer slot per gig and per
	// client address (slots.AddrKey), for MaxViewers and MaxViewersPerIP.
	slots *slots.Counter
	wg    sync.WaitGroup
	ctr   counters
	// done is closed by Close: feeds waiting for a gig's next stream stop.
	done chan struct{}

	// published is closed and replaced at every Published event of the
	// registry, waking the feeds that wait for a gig's next stream.
	pubMu     sync.Mutex
	published chan struct{}
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a Handler reading live streams from reg.
func NewHandler(cfg Config, reg *media.Registry, log *slog.Logger) *Handler {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		cfg:     cfg,
		reg:     reg,
		log:     log.With("component", "flv"),
		feeds:   make(map[*media.Stream]*feed),
		viewers: make(map[*viewer]sink),

		slots:     slots.New(slots.Caps{PerGig: cfg.MaxViewers, PerAddr: cfg.MaxViewersPerIP}),
		done:      make(chan struct{}),
		published: make(chan struct{}),
	}
	reg.OnEvent(h.onRegistryEvent)
	h.up = websocket.Upgrader{
		HandshakeTimeout: 5 * time.Second,
		// Players that send no Origin (ffplay, VLC) are not browsers and
		// need no permission; an unlisted Origin is refused (403).
		CheckOrigin: cors.Origins(cfg.CORSOrigins).CheckOrigin,
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	cors.Origins(h.cfg.CORSOrigins).Set(hdr, r, "")
	if r.Method == http.MethodOptions {
		// Every OPTIONS, preflight or not, gets the preflight answer (204),
		// as it always has.
		cors.Preflight{
			Methods: "GET, HEAD, OPTIONS",
			Headers: "Range, Content-Type, Authorization",
			MaxAge:  24 * time.Hour,
		}.Set(hdr, r)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		httperr.Write(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	file := r.PathValue("file")
	gigID, ok := strings.CutSuffix(file, ".flv")
	if !ok || gigID == "" {
		httperr.Write(w, http.StatusNotFound, "not_found", "FLV streams are at /live/{gigID}.flv")
		return
	}
	screen := r.URL.Query().Get("screen")
	if !access.ValidScreen(screen) {
		httperr.Write(w, http.StatusBadRequest, "validation_failed", "screen must be at most 64 letters, digits, '-' or '_'.")
		return
	}
	// Find brings the stream from the gig's origin node when this node
	// is an edge of a cluster.
	s, ok := h.reg.Find(r.Context(), gigID)
	if !ok {
		httperr.Write(w, http.StatusNotFound, "not_live", "This gig is not live right now.")
		return
	}
	// Before waiting for tracks (requests waiting hold connections too)
	// and before the Gate: a media admission ends the ticket's other
	// screen, which must not happen for a viewer a cap turns away.
	client := h.cfg.ClientIP(r)
	addr := slots.AddrKey(client)
	if !h.reserve(w, gigID, addr) {
		return
	}
	defer h.slots.Release(gigID, addr)
	if err := h.waitTracks(r, s); err != nil {
		switch {
		case errors.Is(err, ErrNoH264):
			httperr.Write(w, http.StatusUnsupportedMediaType, "unsupported_codec",
				"FLV playback needs H.264 video; this stream sends VP8. Watch it in the browser player (WebRTC) instead.")
		case errors.Is(err, ErrNotLive):
			httperr.Write(w, http.StatusNotFound, "not_live", "This gig is not live right now.")
		default:
			httperr.Write(w, http.StatusServiceUnavailable, "no_media", "The stream has not sent any H.264 or AAC media yet; try again in a moment.")
		}
		return
	}
	// After the track checks, which refuse what no ticket would make
	// playable: a media admission ends the ticket's other screen. Before the
	// WebSocket upgrade, so a refusal is the same 401 JSON for both.
	pass := h.admit(w, r, gigID, screen)
	if pass == nil {
		return
	}
	defer pass.Release()
	hdr.Set("Content-Type", "video/x-flv")
	hdr.Set("Cache-Control", "no-cache, no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	if websocket.IsWebSocketUpgrade(r) {
		h.serveWS(w, r, s, pass, client)
		return
	}
	h.serveHTTP(w, r, s, pass, client)
}

// waitTracks waits until the stream has its tracks: right after a publisher
// connects the sequence headers may be a moment away.
func (h *Handler) waitTracks(r *http.Request, s *media.Stream) error {
	deadline := time.Now().Add(h.cfg.TrackWait)
	// Tracks of a stream older than this are settled: do not wait for a
	// second track that may never come (audio-only or video-only shows).
	settled := s.StartedAt().Add(2 * time.Second)
	for {
		var h264, aac, vp8 bool
		for _, t := range s.Tracks() {
			switch {
			case t.Codec == media.CodecH264 && t.H264 != nil:
				h264 = true
			case t.Codec == media.CodecAAC && t.AAC != nil:
				aac = true
			case t.Codec == media.CodecVP8:
				vp8 = true
			}
		}
		now := time.Now()
		switch {
		case vp8 && !h264:
			return ErrNoH264
		case h264 && aac:
			return nil
		case (h264 || aac) && (now.After(settled) || now.After(deadline)):
			return nil
		case now.After(deadline):
			return ErrNoMedia
		}
		select {
		case <-s.Done():
			return ErrNotLive
		case <-r.Context().Done():
			return r.Context().Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// join attaches a viewer to the stream's feed, creating the feed for the
// first viewer.
func (h *Handler) join(s *media.Stream) (*viewer, []byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrClosed
	}
	f := h.feeds[s]
	if f == nil {
		var err error
		if f, err = h.newFeedLocked(s, nil); err != nil {
			return nil, nil, err
		}
	}
	v, hasAudio, hasVideo := f.join()
	v.feed = f
	v.stream.Store(s)
	return v, fileHeader(hasAudio, hasVideo), nil
}

// newFeedLocked attaches a new feed to s; with from set, the feed carries
// on the timeline of the viewers it takes over. h.mu is held.
func (h *Handler) newFeedLocked(s *media.Stream, from *resumePoint) (*feed, error) {
	f := &feed{stream: s, cfg: &h.cfg, ctr: &h.ctr, quit: make(chan struct{})}
	if from != nil {
		f.resume, f.next, f.floor, f.lastTS = true, from.next, from.floor, from.next
	}
	detach, err := s.Attach(f, true)
	if err != nil {
		return nil, ErrNotLive
	}
	f.detach = func() { detach(); f.stopHold() }
	h.feeds[s] = f
	h.wg.Add(1)
	go h.watch(f)
	return f, nil
}

// watch ends a feed's viewers when its stream ends, unless a new stream of
// the gig comes within ReconnectGrace and they move on to it.
func (h *Handler) watch(f *feed) {
	defer h.wg.Done()
	select {
	case <-f.stream.Done():
	case <-f.quit:
		return
	}
	h.mu.Lock()
	if h.feeds[f.stream] == f {
		delete(h.feeds, f.stream)
	}
	h.mu.Unlock()
	if !h.awaitStream(f) {
		f.endAll(false)
	}
}

// leave removes a viewer; the last one detaches the feed so an unwatched
// stream costs nothing.
func (h *Handler) leave(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.viewers, v)
	f := v.feed
	if f.leave(v) == 0 && h.feeds[f.stream] == f {
		delete(h.feeds, f.stream)
		close(f.quit)
		f.detach()
	}
}

func (h *Handler) track(v *viewer, s sink) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.viewers[v] = s
	h.wg.Add(1)
	return true
}

func (h *Handler) serveHTTP(w http.ResponseWriter, r *http.Request, s *media.Stream, pass *access.Pass, client string) {
	v, fileHdr, err := h.join(s)
	if err != nil {
		joinError(w, err)
		return
	}
	var out sink
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err == nil {
		out, err = newChunkedSink(conn, rw, r, w.Header(), h.cfg.StallTimeout)
		if err != nil {
			_ = conn.Close()
			h.leave(v)
			return
		}
	} else {
		// HTTP/2 cannot be hijacked: plain writes, flushed per batch.
		out = &writerSink{w: w, rc: http.NewResponseController(w), stall: h.cfg.StallTimeout}
	}
	h.run(v, out, fileHdr, "flv", r, pass, client)
}

func (h *Handler) serveWS(w http.ResponseWriter, r *http.Request, s *media.Stream, pass *access.Pass, client string) {
	w.Header().Del("Content-Type")
	ws, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already answered with an error status
	}
	v, fileHdr, err := h.join(s)
	if err != nil {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "not live"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	h.run(v, newWSSink(ws, h.cfg.StallTimeout, v), fileHdr, "ws-flv", r, pass, client)
}

// run is a viewer's write loop, on the request's goroutine. It ends the
// viewer when pass ends; the caller releases pass.
func (h *Handler) run(v *viewer, out sink, fileHdr []byte, proto string, r *http.Request, pass *access.Pass, client string) {
	if !h.track(v, out) {
		out.finish(false)
		h.leave(v)
		return
	}
	defer h.wg.Done()
	// The viewer is counted on the stream it watches, which changes when
	// it moves to the gig's next stream (see count).
	counted := v.stream.Load()
	release := counted.AddViewer(proto)
	log := h.log.With("gig", counted.GigID(), "proto", proto, "remote", client)
	if pass.TicketID != "" {
		log = log.With("ticket", pass.TicketID)
	}
	var watch *passWatch
	if h.cfg.Gate != nil {
		watch = h.watchPass(pass, v, out)
	}
	start := time.Now()
	clean, reason := false, "viewer left"
	defer func() {
		if watch != nil {
			watch.stop()
		}
		h.leave(v)
		release()
		if err := v.endCause(); err != nil {
			reason = "ticket ended: " + err.Error()
			log.Info("flv viewer's ticket ended", "why", access.Code(err))
			if ws, ok := out.(*wsSink); ok {
				ws.closeWith(closeTicketEnded, access.Code(err))
			} else {
				out.finish(false)
			}
		} else {
			out.finish(clean)
		}
		log.Debug("flv viewer done", "reason", reason, "duration", time.Since(start).Round(time.Millisecond), "skips", v.skipCount())
	}()
	if err := out.start(fileHdr); err != nil {
		return
	}
	batch := make([]*tag, 0, 64)
	_, hijacked := out.(*writerSink)
	hijacked = !hijacked
	for {
		if s := v.stream.Load(); s != counted {
			// Counted on the new stream first: no flap to zero viewers.
			next := s.AddViewer(proto)
			release()
			counted, release = s, next
			log.Debug("flv viewer continues on the gig's new stream", "source", s.Source())
		}
		var ended, aborted bool
		batch, ended, aborted = v.take(batch[:0])
		if aborted {
			reason = "closed"
			return
		}
		if len(batch) > 0 {
			err := out.write(batch)
			if err == nil {
				h.ctr.sent(proto, batch)
			}
			clear(batch)
			if err != nil {
				reason = "write failed: " + err.Error()
				if isTimeout(err) {
					reason = errStalled.Error()
					h.ctr.stalled.Add(1)
					log.Info("dropping stalled flv viewer", "stall", h.cfg.StallTimeout)
				}
				return
			}
			continue
		}
		if ended {
			clean, reason = true, "stream ended"
			return
		}
		if hijacked {
			<-v.wake
			continue
		}
		select {
		case <-v.wake:
		case <-r.Context().Done():
			// Only the non-hijacked path sees the client leave here; a
			// hijacked connection notices at its next write.
			reason = "client left"
			return
		}
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// Close ends every viewer (players see the stream end) and waits for their
// goroutines. It is idempotent.
func (h *Handler) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.wg.Wait()
		return
	}
	h.closed = true
	close(h.done)
	viewers := make(map[*viewer]sink, len(h.viewers))
	for v, s := range h.viewers {
		viewers[v] = s
		v.end()
	}
	for s, f := range h.feeds {
		delete(h.feeds, s)
		close(f.quit)
		f.detach()
	}
	h.mu.Unlock()
	// Viewers drain and end cleanly; one stuck in a write is cut off.
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(2 * time.Second):
	}
	for v, s := range viewers {
		v.abort()
		s.kill()
	}
	<-done
}

// Viewers returns the number of connected FLV and WS-FLV viewers: the
// connections the handler holds to end them on Close, on every gig (those
// waiting for a gig's next stream included). How many watch a gig is the
// stream's count (media.Stream.Viewers), which run adds each viewer to.
func (h *Handler) Viewers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.viewers)
}

func joinError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrClosed) {
		httperr.Write(w, http.StatusServiceUnavailable, "shutting_down", "The server is restarting; reconnect in a moment.")
		return
	}
	httperr.Write(w, http.StatusNotFound, "not_live", "This gig is not live right now.")
}

package sfu

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/ratelimit"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/internal/slots"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/webrtc/v4"
)

// SFU serves live streams of a media.Registry to WHEP viewers.
type SFU struct {
	cfg  Config
	log  *slog.Logger
	reg  *media.Registry
	apis *viewerAPIs
	port *rtc.Port
	sig  *rtc.Signal

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sessions rtc.Sessions[*session]

	mu           sync.Mutex
	closed       bool
	broadcasters map[*media.Stream]*broadcaster
	// slots counts each gig's and each client address's (slots.AddrKey)
	// WHEP sessions, those being set up included, so MaxViewers and
	// MaxSessionsPerIP hold under concurrent POSTs. That is admission
	// state, not the audience: a gig's watching viewers are counted once,
	// by media.Stream.AddViewer when a session's media flows, and read
	// from there (Stream.Viewers, Stats). Viewers reads the sessions from
	// slots rather than keeping a count of its own.
	slots *slots.Counter
	// offers limits WHEP offers per address (nil: no limit).
	offers *ratelimit.Memory
	// relays counts each gig's relay sessions (RelaySessions); they are
	// not viewers and take no viewer or address slot.
	relays map[string]int
	// ctr counts for metrics (Counters).
	ctr counters
}

// New opens the ICE port and returns a running SFU. Streams come from reg;
// when a stream is unpublished its viewers' sessions end. WHIP ingest
// shares the port (Port).
func New(cfg Config, reg *media.Registry, log *slog.Logger) (*SFU, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sfu")
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	port, err := rtc.Listen(rtc.PortConfig{
		ICEAddr:         cfg.ICEAddr,
		DisableICETCP:   cfg.DisableICETCP,
		PublicIPs:       cfg.PublicIPs,
		PublicHost:      cfg.PublicHost,
		IncludeLoopback: cfg.IncludeLoopback,
		PionOnly:        cfg.PionViewers,
	}, log)
	if err != nil {
		return nil, err
	}
	apis, err := newViewerAPIs(port)
	if err != nil {
		port.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &SFU{
		cfg:          cfg,
		log:          log,
		reg:          reg,
		apis:         apis,
		port:         port,
		relays:       make(map[string]int),
		ctx:          ctx,
		cancel:       cancel,
		broadcasters: make(map[*media.Stream]*broadcaster),
		slots:        slots.New(slots.Caps{PerGig: cfg.MaxViewers, PerAddr: cfg.MaxSessionsPerIP}),
	}
	s.sig = rtc.NewSignal("whep", cfg.signal(), log)
	if cfg.OfferRate > 0 {
		s.offers = ratelimit.NewMemory(ratelimit.Rule{Limit: cfg.OfferRate, Window: cfg.OfferWindow})
	}
	reg.OnEvent(s.onRegistryEvent)
	return s, nil
}

// ICEPort returns the UDP (and TCP) port ICE listens on.
func (s *SFU) ICEPort() int { return s.port.Port() }

// Port returns the ICE port, for WHIP ingest (ingest/whip) to share. Close
// closes it: close the WHIP server first.
func (s *SFU) Port() *rtc.Port { return s.port }

// Viewers returns the number of WHEP sessions, those being set up
// included (the slots they hold). How many watch a gig is the stream's
// count (media.Stream.Viewers).
func (s *SFU) Viewers() int { return s.slots.Total() }

// Close ends every session and releases the ICE port. It is idempotent.
func (s *SFU) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	sessions, _ := s.sessions.Close()
	s.cancel()
	closeAll(sessions, "server shutdown")
	s.wg.Wait()
	s.port.Close()
}

func closeAll(sessions []*session, reason string) {
	var wg sync.WaitGroup
	for _, v := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.close(reason)
		}()
	}
	wg.Wait()
}

// onRegistryEvent runs on the publisher's goroutine: it only starts work.
// A stream that ends does not end its viewers' sessions at once: they wait
// ReconnectGrace for the creator's next stream (their subscribers notice
// the end themselves), and a published stream wakes them.
func (s *SFU) onRegistryEvent(ev media.Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if ev.Type == media.Published {
		if ev.Stream.RTP() != nil {
			// The source's packets go into the ring from the first one:
			// the first viewer then finds the GOP cached.
			if _, err := s.broadcasterForLocked(ev.Stream); err != nil {
				s.log.Debug("rtp broadcaster not attached", "gig", ev.GigID, "err", err)
			}
		}
		for _, v := range s.sessions.All() {
			if v.gigID == ev.GigID {
				select {
				case v.rebind <- struct{}{}:
				default:
				}
			}
		}
		s.mu.Unlock()
		return
	}
	if ev.Type != media.Unpublished || s.cfg.ReconnectGrace > 0 {
		s.mu.Unlock()
		return
	}
	var ended []*session
	for _, v := range s.sessions.All() {
		if v.stream.Load() == ev.Stream {
			ended = append(ended, v)
		}
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		closeAll(ended, "stream ended")
	}()
}

// broadcasterFor returns the stream's broadcaster, attaching one on first use
// so streams nobody watches over WebRTC cost nothing here (those with an
// RTP feed get theirs when published).
func (s *SFU) broadcasterFor(st *media.Stream) (*broadcaster, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broadcasterForLocked(st)
}

func (s *SFU) broadcasterForLocked(st *media.Stream) (*broadcaster, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if st.Closed() {
		return nil, media.ErrStreamClosed
	}
	if b := s.broadcasters[st]; b != nil {
		return b, nil
	}
	log := s.log.With("gig", st.GigID())
	var b *broadcaster
	if feed := st.RTP(); feed != nil {
		b = newRTPBroadcaster(st, feed, s.cfg.NACKHistory, s.cfg.GOPMaxBytes, log)
	} else {
		b = newBroadcaster(st, s.cfg.NACKHistory, s.cfg.GOPMaxBytes, log)
		if err := b.attach(); err != nil {
			return nil, err
		}
	}
	s.trackBroadcasterLocked(st, b)
	return b, nil
}

// trackBroadcasterLocked records b as st's broadcaster until st ends.
func (s *SFU) trackBroadcasterLocked(st *media.Stream, b *broadcaster) {
	s.broadcasters[st] = b
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-st.Done():
		case <-s.ctx.Done():
		}
		b.close()
		s.mu.Lock()
		if s.broadcasters[st] == b {
			delete(s.broadcasters, st)
		}
		s.mu.Unlock()
	}()
}

// addSession records v (a relay session counts in RelaySessions).
func (s *SFU) addSession(v *session) error {
	if !s.sessions.Add(v.id, v) {
		return ErrClosed
	}
	if v.relay {
		s.mu.Lock()
		s.relays[v.gigID]++
		s.mu.Unlock()
	}
	return nil
}

// removeSession forgets v and gives back its viewer slots.
func (s *SFU) removeSession(v *session) {
	if !s.sessions.Remove(v.id, v) {
		return
	}
	if !v.relay {
		s.release(v.gigID, v.addr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.relays[v.gigID]--; s.relays[v.gigID] <= 0 {
		delete(s.relays, v.gigID)
	}
}

// findSession is the rtc.Finder of WHEP sessions.
func (s *SFU) findSession(gigID, id string) (rtc.Session, bool) {
	v, ok := s.sessions.Get(id)
	if !ok || v.gigID != gigID {
		return nil, false
	}
	return v, true
}

// reserve takes one of the gig's viewer slots and one of the client
// address's (addr is a slots.AddrKey), or says which cap is reached
// (slots.ErrGigFull, slots.ErrAddrFull). It runs once per POST, never on
// the media path.
func (s *SFU) reserve(gigID, addr string) error {
	return s.slots.Take(gigID, addr)
}

// release gives back the slots reserve took.
func (s *SFU) release(gigID, addr string) {
	s.slots.Release(gigID, addr)
}

// videoMime is the video codec st's viewers get: H.264, or VP8 from a WHIP
// publisher that sends it.
func videoMime(st *media.Stream) string {
	if feed := st.RTP(); feed != nil && feed.Video() == media.CodecVP8 {
		return webrtc.MimeTypeVP8
	}
	return webrtc.MimeTypeH264
}

// hasBFrames reports whether the stream's video uses B-frames.
func (s *SFU) hasBFrames(st *media.Stream) bool {
	s.mu.Lock()
	b := s.broadcasters[st]
	s.mu.Unlock()
	if b != nil && b.bframes.Load() {
		return true
	}
	stats := st.Stats()
	return stats.Video != nil && stats.Video.BFrames
}

// newSession negotiates a viewer session for the gig's live stream. On
// success the session holds a reserved viewer slot.
// The session owns pass from then on: it closes when the pass ends and
// releases it when it closes.
func (s *SFU) newSession(ctx context.Context, gigID string, st *media.Stream, o *offerInfo, remoteIP, addr string, pass *access.Pass) (*session, string, error) {
	if s.port.Lite() != nil && !o.relay && videoMime(st) == webrtc.MimeTypeH264 {
		if no, ok := parseNativeOffer(o.parsed); ok {
			return s.newNativeSession(gigID, st, no, remoteIP, addr, pass)
		}
	}
	api := s.apis.h264
	if videoMime(st) == webrtc.MimeTypeVP8 {
		api = s.apis.vp8
	}
	var aac *media.AACConfig
	var aacOff *aacOffer
	if o.relay {
		aacOff = findAACOffer(o.sdp)
		aac = relayAACConfig(st, aacOff)
		var err error
		if api, err = s.relayAPI(videoMime(st), aac); err != nil {
			return nil, "", err
		}
	}
	pc, err := s.port.NewPeerConnection(api)
	if err != nil {
		return nil, "", err
	}
	id := rtc.RandomID()
	vctx, cancel := context.WithCancel(s.ctx)
	log := s.sessionLog(gigID, id, o.relay, pass)
	v := &session{
		id:        id,
		gigID:     gigID,
		remoteIP:  remoteIP,
		addr:      addr,
		relay:     o.relay,
		created:   time.Now(),
		log:       log,
		pass:      pass,
		sfu:       s,
		rebind:    make(chan struct{}, 1),
		pc:        pc,
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
		ctx:       vctx,
		cancel:    cancel,
	}
	v.stream.Store(st)
	fail := func(err error) (*session, string, error) {
		cancel()
		_ = pc.Close()
		return nil, "", err
	}
	pc.OnConnectionStateChange(v.onConnectionState)
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != "chat" || s.cfg.OnDataChannel == nil {
			v.log.Debug("closing unexpected data channel", "label", dc.Label())
			_ = dc.Close()
			return
		}
		s.cfg.OnDataChannel(gigID, remoteIP, dc)
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.sdp}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	if aac != nil {
		if err := v.addAAC(aac, aacOff.mid, true); err != nil {
			return fail(err)
		}
	}
	// Viewers get random timestamp offsets (RFC 3550); a relay gets the
	// stream's media time when its packets carry it (mediaClockOf).
	vOff, aOff := randomUint32(), randomUint32()
	if o.relay && mediaClockOf(st) {
		vOff, aOff, v.mediaClock = 0, 0, true
	}
	v.video = newVideoDownTrack(videoMime(st), "gig-"+gigID, randomUint16(), vOff)
	tracks := []*downTrack{v.video}
	if o.audio {
		v.audio = newDownTrack(webrtc.RTPCodecTypeAudio, "gig-"+gigID, randomUint16(), aOff)
		tracks = append(tracks, v.audio)
	}
	for _, d := range tracks {
		sender, err := pc.AddTrack(d)
		if err != nil {
			return fail(fmt.Errorf("add %s track: %w", d.id, err))
		}
		v.wg.Add(1)
		go v.readRTCP(sender, d)
	}
	if aac != nil && v.aac == nil {
		if err := v.addAAC(aac, aacOff.mid, false); err != nil {
			return fail(err)
		}
	}
	local, err := rtc.AnswerGathered(ctx, pc)
	if err != nil {
		return fail(err)
	}
	v.etag = rtc.ETag(local.SDP)
	if err := s.addSession(v); err != nil {
		return fail(err)
	}
	v.wg.Add(1)
	go v.run()
	if s.cfg.Gate != nil && !o.relay {
		v.wg.Add(1)
		go v.watchPass()
	}
	return v, local.SDP, nil
}

func randomUint16() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:])
}

func randomUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// sessionLog is a WHEP session's logger: gig, session, and who it is for
// (a relay, a ticket ID, the creator).
func (s *SFU) sessionLog(gigID, id string, relay bool, pass *access.Pass) *slog.Logger {
	log := s.log.With("gig", gigID, "session", id[:8])
	switch {
	case relay:
		log = log.With("relay", true)
	case pass.TicketID != "":
		log = log.With("ticket", pass.TicketID)
	case pass.Creator:
		log = log.With("creator", true)
	}
	return log
}

package whip

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// publisher is one WHIP broadcast (or relay pull): a receive-only
// PeerConnection whose RTP goes to the stream's RTPFeed as it comes (WebRTC
// viewers) and is turned into frames of the media.Stream
// (publisher_track.go) for FLV, stream health and the transcoder.
type publisher struct {
	id       string
	gigID    string
	etag     atomic.Pointer[string]
	remoteIP string
	created  time.Time
	log      *slog.Logger

	srv    *Server
	pc     *webrtc.PeerConnection
	stream *media.Stream
	feed   *media.RTPFeed
	// videoMime is the negotiated video codec ("" without video).
	videoMime string
	// relay marks a pull from another node (pull.go): its stream is
	// published at the first packet, and it is not a WHIP publisher.
	relay bool
	// mediaClock: the relay's upstream stamps every track with the
	// stream's own media time (rtc.HeaderMediaClock), so the frames' DTS
	// is that time and audio lines up with video whatever arrives first.
	mediaClock  bool
	publishOnce sync.Once
	// reason is why the session ended, set before closed is closed.
	reason string

	videoSSRC atomic.Uint32
	lastRTP   atomic.Int64 // unix ns
	packets   atomic.Uint64
	connected chan struct{}
	connOnce  sync.Once
	// patchMu serializes trickle and ICE-restart PATCHes.
	patchMu sync.Mutex

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    chan struct{}
}

// newPeer makes the receive-only PeerConnection of a publisher or pull of
// gigID on api, and the publisher around it; log names the session.
func (s *Server) newPeer(api *webrtc.API, gigID string, relay bool, log func(id string) *slog.Logger) (*publisher, error) {
	pc, err := s.port.NewPeerConnection(api)
	if err != nil {
		return nil, err
	}
	id := rtc.RandomID()
	ctx, cancel := context.WithCancel(s.ctx)
	p := &publisher{
		id:        id,
		gigID:     gigID,
		created:   time.Now(),
		log:       log(id[:8]),
		srv:       s,
		pc:        pc,
		relay:     relay,
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
	pc.OnConnectionStateChange(p.onConnectionState)
	pc.OnTrack(p.onTrack)
	return p, nil
}

// abort undoes newPeer after a failed setup.
func (p *publisher) abort() {
	p.cancel()
	p.pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {})
	_ = p.pc.Close()
}

// newStream makes the publisher's stream and its RTP feed (the negotiated
// video codec set first).
func (p *publisher) newStream(source string, replayAny bool) {
	video := media.CodecUnknown
	switch {
	case strings.EqualFold(p.videoMime, webrtc.MimeTypeH264):
		video = media.CodecH264
	case strings.EqualFold(p.videoMime, webrtc.MimeTypeVP8):
		video = media.CodecVP8
	}
	p.feed = media.NewRTPFeed(media.RTPFeedConfig{Video: video, ReplayAny: replayAny, MediaClock: p.mediaClock, AskKeyframe: p.sendPLI})
	p.stream = media.NewStream(media.StreamConfig{GigID: p.gigID, Source: source, GOPMaxBytes: p.srv.cfg.GOPMaxBytes, RTP: p.feed}, p.srv.log)
	if video == media.CodecVP8 {
		// FLV viewers then get flv.ErrNoH264's explanation.
		p.stream.SetTrack(&media.Track{Codec: media.CodecVP8})
	}
}

// newPublisher negotiates a WHIP offer for gigID and publishes its stream.
// It returns the answer; the stream is live (Registry.Publish) when it
// returns without error.
func (s *Server) newPublisher(ctx context.Context, gigID string, o *publishOffer, remoteIP string) (*publisher, string, error) {
	p, err := s.newPeer(s.apis.publishers, gigID, false, func(id string) *slog.Logger {
		return s.log.With("gig", gigID, "publisher", id)
	})
	if err != nil {
		return nil, "", err
	}
	p.remoteIP = remoteIP
	fail := func(err error) (*publisher, string, error) {
		p.abort()
		return nil, "", err
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.sdp}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	if err := preferH264(p.pc); err != nil {
		return fail(err)
	}
	local, err := rtc.AnswerGathered(ctx, p.pc)
	if err != nil {
		return fail(err)
	}
	p.videoMime = answeredVideoMime(p.pc)
	if o.video && p.videoMime == "" {
		return fail(fmt.Errorf("%w: no video codec in common: offer H.264 (packetization-mode=1) or VP8", ErrBadOffer))
	}
	p.setETag(rtc.ETag(local.SDP))
	p.newStream("whip", false)
	if err := s.addPublisher(p); err != nil {
		return fail(err)
	}
	if err := s.reg.Publish(p.stream); err != nil {
		s.pubs.Remove(p.id, p)
		p.stream.Close()
		return fail(err)
	}
	p.wg.Add(1)
	go p.watch()
	return p, local.SDP, nil
}

// onTrack starts reading a track and its RTCP.
func (p *publisher) onTrack(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
	p.wg.Add(2)
	go p.readTrack(tr)
	if strings.EqualFold(tr.Codec().MimeType, rtc.MimeAAC) {
		// A relay's AAC: no viewer gets it, its reports map no clock.
		go func() {
			defer p.wg.Done()
			rtc.ReadRTCP(rx, nil)
		}()
		return
	}
	go p.readRTCP(rx, tr.Kind() == webrtc.RTPCodecTypeAudio)
}

// firstMedia publishes a relay's stream when its first packet arrives.
func (p *publisher) firstMedia() {
	if !p.relay {
		return
	}
	p.publishOnce.Do(func() {
		if err := p.srv.reg.Publish(p.stream); err != nil {
			p.log.Warn("relay stream not published", "err", err)
			p.stream.CloseWithCause(err)
			return
		}
		p.log.Info("relay stream live")
	})
}

func (p *publisher) setETag(e string) { p.etag.Store(&e) }

// ETag implements rtc.Session.
func (p *publisher) ETag() string { return *p.etag.Load() }

// Lock and Unlock serialize the session's trickle and ICE-restart PATCHes
// (rtc.Signal.ServePatch).
func (p *publisher) Lock()   { p.patchMu.Lock() }
func (p *publisher) Unlock() { p.patchMu.Unlock() }

// answeredVideoMime is the video codec the answer put first: what the
// publisher will send.
func answeredVideoMime(pc *webrtc.PeerConnection) string {
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		for _, c := range tr.Receiver().GetParameters().Codecs {
			return c.MimeType
		}
	}
	return ""
}

func (p *publisher) onConnectionState(s webrtc.PeerConnectionState) {
	p.log.Debug("publisher connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.lastRTP.Store(time.Now().UnixNano())
		p.connOnce.Do(func() { close(p.connected) })
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		go p.close("connection " + s.String())
	}
}

// watch ends the broadcast when the publisher never connects or stops
// sending (ICE notices a vanished peer only after seconds, silence sooner),
// and when its stream is ended from outside (media.Registry.Kick).
func (p *publisher) watch() {
	defer p.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.stream.Done():
			// Ended from outside (show ended, key rotated, replaced, or
			// shutdown): the session goes with it.
			p.log.Info("stream ended, closing the whip session", "err", p.stream.Err())
			go p.close("stream ended")
			return
		case <-t.C:
		}
		select {
		case <-p.connected:
			if idle := time.Since(time.Unix(0, p.lastRTP.Load())); idle > p.srv.cfg.PublisherTimeout {
				p.log.Info("publisher sends nothing", "idle", idle.Round(time.Millisecond))
				go p.close("no media")
				return
			}
		default:
			if time.Since(p.created) > p.srv.cfg.ConnectTimeout {
				p.log.Info("publisher did not connect in time", "timeout", p.srv.cfg.ConnectTimeout)
				go p.close("connect timeout")
				return
			}
		}
	}
}

// idle is how long the publisher has sent no RTP.
func (p *publisher) idle() time.Duration {
	select {
	case <-p.connected:
		return time.Since(time.Unix(0, p.lastRTP.Load()))
	default:
		return 0
	}
}

// sendPLI asks the publisher for a keyframe (the broadcaster throttles).
func (p *publisher) sendPLI() {
	ssrc := p.videoSSRC.Load()
	if ssrc == 0 {
		return
	}
	if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		p.log.Debug("send pli", "err", err)
	}
}

// readRTCP passes on the publisher's sender reports, which map its RTP
// clocks to one wall clock for the reports sent to viewers (lip sync).
func (p *publisher) readRTCP(rx *webrtc.RTPReceiver, audio bool) {
	defer p.wg.Done()
	rtc.ReadRTCP(rx, func(pk rtcp.Packet) {
		if sr, ok := pk.(*rtcp.SenderReport); ok {
			p.feed.SenderReport(audio, sr.RTPTime, sr.NTPTime)
		}
	})
}

// close ends the broadcast; idempotent. The gig's stream is unpublished;
// its viewers wait ReconnectGrace for the creator's next stream.
func (p *publisher) close(reason string) {
	p.closeOnce.Do(func() {
		rtc.ClosePeer(p.cancel, p.pc, &p.wg, p.log)
		p.srv.pubs.Remove(p.id, p)
		p.srv.reg.Unpublish(p.stream)
		p.reason = reason
		what := "whip publisher left"
		if p.relay {
			what = "relay pull ended"
		}
		p.log.Info(what, "reason", reason, "duration", time.Since(p.created).Round(time.Millisecond),
			"packets", p.packets.Load(), "keyframe_requests", p.feed.KeyframeRequests())
		close(p.closed)
	})
	<-p.closed
}

// PeerConnection implements rtc.Session.
func (p *publisher) PeerConnection() *webrtc.PeerConnection { return p.pc }

// Close implements rtc.Session.
func (p *publisher) Close(reason string) { p.close(reason) }

var _ rtc.Session = (*publisher)(nil)

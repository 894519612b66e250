package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// publisher is one WHIP broadcast: a receive-only PeerConnection whose RTP
// is forwarded to the stream's viewers (broadcaster_rtp.go) and turned into
// frames of a media.Stream (publisher_track.go) for FLV, stream health and
// the transcoder.
type publisher struct {
	id       string
	gigID    string
	etag     atomic.Pointer[string]
	remoteIP string
	created  time.Time
	log      *slog.Logger

	sfu    *SFU
	pc     *webrtc.PeerConnection
	stream *media.Stream
	b      *broadcaster
	// videoMime is the negotiated video codec ("" without video).
	videoMime string
	// relay marks a pull from another node (relay_pull.go): its stream is
	// published at the first packet, and it is not a WHIP publisher.
	relay bool
	// mediaClock: the relay's upstream stamps every track with the
	// stream's own media time (headerMediaClock), so the frames' DTS is
	// that time and audio lines up with video whatever arrives first.
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

// newPublisher negotiates a WHIP offer for gigID and publishes its stream.
// It returns the answer; the stream is live (Registry.Publish) when it
// returns without error.
func (s *SFU) newPublisher(ctx context.Context, gigID string, o *publishOffer, remoteIP string) (*publisher, string, error) {
	cert, err := s.certificate()
	if err != nil {
		return nil, "", err
	}
	pc, err := s.pubAPI.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, "", fmt.Errorf("new peer connection: %w", err)
	}
	id := randomID()
	pctx, cancel := context.WithCancel(s.ctx)
	p := &publisher{
		id:        id,
		gigID:     gigID,
		remoteIP:  remoteIP,
		created:   time.Now(),
		log:       s.log.With("gig", gigID, "publisher", id[:8]),
		sfu:       s,
		pc:        pc,
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
		ctx:       pctx,
		cancel:    cancel,
	}
	fail := func(err error) (*publisher, string, error) {
		cancel()
		_ = pc.Close()
		return nil, "", err
	}
	pc.OnConnectionStateChange(p.onConnectionState)
	pc.OnTrack(p.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.sdp}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	if err := preferH264(pc); err != nil {
		return fail(err)
	}
	local, err := answerGathered(ctx, pc)
	if err != nil {
		return fail(err)
	}
	p.videoMime = answeredVideoMime(pc)
	if o.video && p.videoMime == "" {
		return fail(fmt.Errorf("%w: no video codec in common: offer H.264 (packetization-mode=1) or VP8", ErrBadOffer))
	}
	p.setETag(`"` + iceUfrag(local.SDP) + `"`)

	p.stream = media.NewStream(media.StreamConfig{GigID: gigID, Source: "whip", GOPMaxBytes: s.cfg.GOPMaxBytes}, s.log)
	p.b = newRTPBroadcaster(p.stream, s.cfg.NACKHistory, s.cfg.GOPMaxBytes, p.sendPLI, p.log)
	p.b.hasVideo.Store(p.videoMime != "")
	p.b.videoMime = p.videoMime
	if p.videoMime == webrtc.MimeTypeVP8 {
		// FLV viewers then get flv.ErrNoH264's explanation.
		p.stream.SetTrack(&media.Track{Codec: media.CodecVP8})
	}
	// The broadcaster is registered before the stream is published, so a
	// viewer (or a waiting one) never attaches a frame packetizer to it.
	if err := s.addPublisher(p); err != nil {
		return fail(err)
	}
	if err := s.reg.Publish(p.stream); err != nil {
		s.removePublisher(p)
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
	if strings.EqualFold(tr.Codec().MimeType, mimeAAC) {
		// A relay's AAC: no viewer gets it, its reports map no clock.
		go p.drainRTCP(rx)
		return
	}
	go p.readRTCP(rx, tr.Kind() == webrtc.RTPCodecTypeAudio)
}

func (p *publisher) drainRTCP(rx *webrtc.RTPReceiver) {
	defer p.wg.Done()
	for {
		if _, _, err := rx.ReadRTCP(); err != nil {
			return
		}
	}
}

// firstMedia publishes a relay's stream when its first packet arrives.
func (p *publisher) firstMedia() {
	if !p.relay {
		return
	}
	p.publishOnce.Do(func() {
		if err := p.sfu.reg.Publish(p.stream); err != nil {
			p.log.Warn("relay stream not published", "err", err)
			p.stream.CloseWithCause(err)
			return
		}
		p.log.Info("relay stream live")
	})
}

func (p *publisher) setETag(e string) { p.etag.Store(&e) }

func (p *publisher) getETag() string { return *p.etag.Load() }

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
			if idle := time.Since(time.Unix(0, p.lastRTP.Load())); idle > p.sfu.cfg.PublisherTimeout {
				p.log.Info("publisher sends nothing", "idle", idle.Round(time.Millisecond))
				go p.close("no media")
				return
			}
		default:
			if time.Since(p.created) > p.sfu.cfg.ConnectTimeout {
				p.log.Info("publisher did not connect in time", "timeout", p.sfu.cfg.ConnectTimeout)
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

// readRTCP takes the publisher's sender reports, which map its RTP clocks
// to one wall clock for the reports we send viewers (lip sync).
func (p *publisher) readRTCP(rx *webrtc.RTPReceiver, audio bool) {
	defer p.wg.Done()
	clock := &p.b.rtp.clocks[trackIndex(audio)]
	for {
		pkts, _, err := rx.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			if sr, ok := pk.(*rtcp.SenderReport); ok {
				clock.senderReport(sr.RTPTime, sr.NTPTime)
			}
		}
	}
}

// close ends the broadcast; idempotent. The gig's stream is unpublished;
// its viewers wait ReconnectGrace for the creator's next stream.
func (p *publisher) close(reason string) {
	p.closeOnce.Do(func() {
		p.cancel()
		if err := p.pc.Close(); err != nil {
			p.log.Debug("close peer connection", "err", err)
		}
		p.wg.Wait()
		p.sfu.removePublisher(p)
		p.sfu.reg.Unpublish(p.stream)
		p.reason = reason
		what := "whip publisher left"
		if p.relay {
			what = "relay pull ended"
		}
		p.log.Info(what, "reason", reason, "duration", time.Since(p.created).Round(time.Millisecond),
			"packets", p.packets.Load(), "keyframe_requests", p.b.rtp.plis.Load())
		close(p.closed)
	})
	<-p.closed
}

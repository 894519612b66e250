package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// A stream whose source sends RTP (a WHIP publisher, a relay pull from
// another node) carries an RTPFeed besides its frames: the source's packets
// as they arrive, which WebRTC playback forwards as they are instead of
// packetizing the frames again (the payloads, sequence numbers and
// timestamps are the source's; a retransmitted packet reaches the viewers
// with the number they miss). The keyframe requests of those viewers go
// back the same way. The frames still go into the Stream, for FLV viewers,
// stream health and the transcoder.

// RTPPacket is one RTP packet of an RTPFeed.
type RTPPacket struct {
	Audio  bool
	Seq    uint16
	TS     uint32
	Marker bool
	// Key says the packet holds (the start of) a video keyframe; KeyHead,
	// set by RTPFeed.Write, that it is the first such packet of its
	// access unit: where a new viewer can start.
	Key, KeyHead bool
	// Arrival is when the packet was received.
	Arrival time.Time
	// Payload is immutable: a sink may keep it.
	Payload []byte
}

// RTPSink receives an RTPFeed's packets and the source's sender reports.
// Its methods run on the source's read goroutines: they must not block, and
// must not keep the *RTPPacket (only its Payload).
type RTPSink interface {
	WriteRTP(p *RTPPacket)
	// SenderReport passes on the source's RTP/NTP time pair of a track.
	SenderReport(audio bool, rtpTime uint32, ntpTime uint64)
}

// RTPFeedConfig configures an RTPFeed.
type RTPFeedConfig struct {
	// Video is the video codec the source sends (CodecH264, CodecVP8), or
	// CodecUnknown without video.
	Video Codec
	// ReplayAny: new viewers may start from a cached keyframe however old
	// (a relay: the origin's RTMP encoder cannot make a fresh one).
	ReplayAny bool
	// MediaClock: the packets' timestamps are the stream's media time
	// times the clock rate, on every track.
	MediaClock bool
	// AskKeyframe asks the source for a keyframe (a PLI); RequestKeyframe
	// throttles the calls.
	AskKeyframe func()
}

// keyframeInterval throttles keyframe requests to a source: a keyframe
// costs several frames' worth of bitrate, and many viewers joining or
// losing packets at once need only one.
const keyframeInterval = 500 * time.Millisecond

// RTPFeed is a stream's RTP from its source to one sink (WebRTC playback).
type RTPFeed struct {
	cfg  RTPFeedConfig
	mu   sync.Mutex // serializes Attach
	sink atomic.Pointer[rtpSinkRef]

	lastAsk atomic.Int64 // unix ns
	pending atomic.Bool  // a held request waits for the window's end
	asks    atomic.Uint64
	keyAt   atomic.Int64 // unix ns of the last keyframe

	// Video writer state (the source's video read goroutine only).
	keyTS     uint32
	keyMarked bool
}

type rtpSinkRef struct{ s RTPSink }

// NewRTPFeed returns a feed with no sink.
func NewRTPFeed(cfg RTPFeedConfig) *RTPFeed { return &RTPFeed{cfg: cfg} }

// RTP returns the stream's RTPFeed, nil for a source that sends frames
// only (RTMP).
func (s *Stream) RTP() *RTPFeed { return s.cfg.RTP }

// Video returns the video codec the source sends (CodecUnknown: none).
func (f *RTPFeed) Video() Codec { return f.cfg.Video }

// ReplayAny reports whether viewers may start from any cached keyframe.
func (f *RTPFeed) ReplayAny() bool { return f.cfg.ReplayAny }

// MediaClock reports whether the timestamps are the stream's media time.
func (f *RTPFeed) MediaClock() bool { return f.cfg.MediaClock }

// Attach makes s the feed's sink (replacing any other) until detach is
// called.
func (f *RTPFeed) Attach(s RTPSink) (detach func()) {
	ref := &rtpSinkRef{s: s}
	f.mu.Lock()
	f.sink.Store(ref)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sink.CompareAndSwap(ref, nil)
	}
}

// Write passes one packet to the sink; it sets p.KeyHead. It runs on the
// source's read goroutine of the packet's track.
func (f *RTPFeed) Write(p *RTPPacket) {
	p.KeyHead = false
	if !p.Audio && p.Key && (!f.keyMarked || f.keyTS != p.TS) {
		p.KeyHead = true
		f.keyTS, f.keyMarked = p.TS, true
		f.keyAt.Store(p.Arrival.UnixNano())
	}
	if ref := f.sink.Load(); ref != nil {
		ref.s.WriteRTP(p)
	}
}

// SenderReport passes on a sender report of the source.
func (f *RTPFeed) SenderReport(audio bool, rtpTime uint32, ntpTime uint64) {
	if ref := f.sink.Load(); ref != nil {
		ref.s.SenderReport(audio, rtpTime, ntpTime)
	}
}

// KeyframeAge is how long ago the last keyframe arrived (an hour when none
// did).
func (f *RTPFeed) KeyframeAge() time.Duration {
	at := f.keyAt.Load()
	if at == 0 {
		return time.Hour
	}
	return time.Since(time.Unix(0, at))
}

// KeyframeRequests returns how many keyframe requests reached the source.
func (f *RTPFeed) KeyframeRequests() uint64 { return f.asks.Load() }

// RequestKeyframe asks the source for a keyframe, at most once per
// keyframeInterval. Inside the throttle window the request is held, not
// dropped: one deferred request goes at the window's end unless a keyframe
// arrives first, so a viewer joining right after another waits at most
// keyframeInterval plus a round trip, never a whole GOP.
func (f *RTPFeed) RequestKeyframe() {
	now := time.Now().UnixNano()
	last := f.lastAsk.Load()
	if wait := int64(keyframeInterval) - (now - last); wait > 0 {
		if f.pending.CompareAndSwap(false, true) {
			time.AfterFunc(time.Duration(wait), func() {
				f.pending.Store(false)
				if f.keyAt.Load() < now {
					f.RequestKeyframe()
				}
			})
		}
		return
	}
	if !f.lastAsk.CompareAndSwap(last, now) {
		return
	}
	f.asks.Add(1)
	if f.cfg.AskKeyframe != nil {
		f.cfg.AskKeyframe()
	}
}

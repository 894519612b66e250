package sfu

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/cow"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
)

// broadcaster is the one media.Reader per live stream that packetizes every
// frame once and publishes the packets to the ring. Its OnTrack/OnFrame run on
// the stream's writer goroutine (with the stream locked): they never block,
// the only waiting is the ring's short write lock and non-blocking wake-ups.
type broadcaster struct {
	stream *media.Stream
	log    *slog.Logger
	ring   *packetRing
	detach func()

	// Writer-goroutine state (only touched inside OnTrack/OnFrame).
	sps, pps [][]byte
	packer   h264Packer
	nalus    [][]byte // scratch: parameter sets and a keyframe's NAL units
	batch    []*packet
	seq      [2]uint16

	hasVideo atomic.Bool
	bframes  atomic.Bool
	// lastAudioTS is the newest audio packet's timestamp: catching-up
	// viewers skip cached audio older than audioCatchUp before it.
	lastAudioTS atomic.Uint32
	hasAudio    atomic.Bool
	// anchor is the wall clock (unix ns) at media time 0, set from the first
	// frame; sender reports of every track derive from it so browsers line
	// audio up with video whatever the transcoding delay.
	anchor atomic.Int64

	subs cow.List[*subscriber]
	// fan serves the live icelite viewers (fanout_loop.go), started with
	// the first of them.
	fan     atomic.Pointer[fanLoop]
	fanOnce sync.Once

	// done is closed when the stream ended: subscribers then wait for the
	// creator's next stream.
	done      chan struct{}
	closeOnce sync.Once

	// rtp is set for a stream with an RTP feed (WHIP, relay pulls), whose
	// source's RTP is forwarded as it comes (broadcaster_rtp.go) instead of
	// packetized from frames.
	rtp *rtpSource
}

func newBroadcaster(s *media.Stream, ringPackets, ringBytes int, log *slog.Logger) *broadcaster {
	b := &broadcaster{
		stream: s,
		log:    log,
		ring:   newPacketRing(ringPackets, ringBytes),
		done:   make(chan struct{}),
	}
	return b
}

// attach starts receiving the stream, replaying its GOP cache so the ring
// holds a keyframe for the first viewer.
func (b *broadcaster) attach() error {
	detach, err := b.stream.Attach(b, true)
	if err != nil {
		return err
	}
	b.detach = detach
	return nil
}

// OnTrack implements media.Reader.
func (b *broadcaster) OnTrack(t *media.Track) {
	if !t.Codec.IsVideo() {
		return
	}
	b.hasVideo.Store(true)
	if t.H264 != nil {
		b.sps, b.pps = t.H264.SPS, t.H264.PPS
	}
}

// OnFrame implements media.Reader.
func (b *broadcaster) OnFrame(f *media.Frame) {
	if b.anchor.Load() == 0 {
		b.anchor.Store(time.Now().Add(-f.DTS).UnixNano())
	}
	b.batch = b.batch[:0]
	switch f.Codec {
	case media.CodecH264:
		if f.CTS != 0 && !b.bframes.Load() {
			b.bframes.Store(true)
			b.log.Warn("stream has b-frames: webrtc viewers are refused until the encoder sends none")
		}
		b.packetizeH264(f)
	case media.CodecOpus:
		ts := uint32(f.DTS.Nanoseconds() * 48000 / int64(time.Second))
		b.batch = append(b.batch, &packet{audio: true, seq: b.nextSeq(true), ts: ts, payload: f.Data})
		b.lastAudioTS.Store(ts)
		b.hasAudio.Store(true)
	default:
		// AAC reaches WebRTC viewers through the transcoder's Opus track.
		return
	}
	if len(b.batch) == 0 {
		return
	}
	b.ring.append(b.batch)
	b.wakeAll()
}

func (b *broadcaster) nextSeq(audio bool) uint16 {
	i := trackIndex(audio)
	s := b.seq[i]
	b.seq[i]++
	return s
}

// packetizeH264 packetizes the frame's NAL units (split once at ingest),
// putting the stored SPS and PPS in front of every IDR that does not carry
// its own: x264 over FLV sends them only in the sequence header, and
// Chromium decodes nothing without them in band.
func (b *broadcaster) packetizeH264(f *media.Frame) {
	if len(f.NALUs) == 0 {
		return // malformed or empty access unit
	}
	nalus := f.NALUs
	if f.Keyframe && !f.HasSPS {
		b.nalus = append(append(append(b.nalus[:0], b.sps...), b.pps...), f.NALUs...)
		nalus = b.nalus
	}
	buf, ends := b.packer.pack(nalus, rtc.RTPMTU)
	clear(b.nalus) // do not keep the frame alive through the scratch slice
	ts := uint32(f.PTS().Nanoseconds() * 90000 / int64(time.Second))
	// One allocation for the frame's packet structs: this runs once per
	// stream, not per viewer.
	pkts := make([]packet, len(ends))
	start := 0
	for i, end := range ends {
		pkts[i] = packet{seq: b.nextSeq(false), ts: ts, payload: buf[start:end:end]}
		b.batch = append(b.batch, &pkts[i])
		start = end
	}
	pkts[0].keyHead = f.Keyframe
	pkts[len(pkts)-1].marker = true
}

// audioCatchUp is how much cached audio a new viewer gets. Video must be
// replayed from the keyframe to decode; audio need not, and a GOP's worth
// of it at once fills the browser's audio jitter buffer (NetEq), which then
// plays seconds late and drags video along through lip sync.
const audioCatchUp = 60 * time.Millisecond

// staleAudio reports whether a cached audio packet is too old to send to a
// viewer that is catching up.
func (b *broadcaster) staleAudio(p *packet) bool {
	return int32(b.lastAudioTS.Load()-p.ts) > int32(audioCatchUp/time.Millisecond)*48
}

// wakeAll tells the readers that the ring has new packets.
func (b *broadcaster) wakeAll() {
	if l := b.fan.Load(); l != nil {
		l.notify()
	}
	for _, s := range b.subs.Load() {
		s.notify()
	}
}

// subscribe adds s to the wake-up list; s then polls the ring itself.
func (b *broadcaster) subscribe(s *subscriber) { b.subs.Add(s) }

func (b *broadcaster) unsubscribe(s *subscriber) { b.subs.Remove(s) }

// startPos is where a new viewer begins reading. A WHIP publisher can be
// asked for a keyframe: when the cached one is old (browsers send keyframes
// only on request, so a GOP can be minutes long) the viewer waits for a
// fresh one instead, one PLI round trip away.
func (b *broadcaster) startPos() (pos uint64, waitKey bool) {
	pos, waitKey = b.ring.start()
	if b.rtp != nil && !b.rtp.feed.ReplayAny() && !waitKey && b.rtp.feed.KeyframeAge() > rtpGOPReplay {
		pos, waitKey = b.ring.headPos(), true
	}
	waitKey = waitKey && b.hasVideo.Load()
	if waitKey {
		b.requestKeyframe()
	}
	return pos, waitKey
}

// requestKeyframe asks the publisher for a keyframe (viewer PLI/FIR, a
// viewer waiting for one) through the stream's RTP feed, which throttles.
// RTMP encoders cannot be asked: their viewers start from the cached GOP.
func (b *broadcaster) requestKeyframe() {
	if b.rtp != nil {
		b.rtp.feed.RequestKeyframe()
	}
}

// rtpTime returns the RTP timestamp (on the stream's clock for the track)
// that corresponds to now, for sender reports.
func (b *broadcaster) rtpTime(audio bool, clockRate uint32, now time.Time) (uint32, bool) {
	if b.rtp != nil {
		return b.rtp.clocks[trackIndex(audio)].at(now, clockRate)
	}
	a := b.anchor.Load()
	if a == 0 {
		return 0, false
	}
	m := time.Duration(now.UnixNano() - a)
	return uint32(m.Nanoseconds() * int64(clockRate) / int64(time.Second)), true
}

func (b *broadcaster) close() {
	if b.detach != nil {
		b.detach()
	}
	b.closeOnce.Do(func() {
		close(b.done)
		// Subscribers sleep on their wake channels only.
		for _, s := range b.subs.Load() {
			s.notify()
		}
	})
}

package sfu

import (
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

// The broadcaster of a stream with an RTP feed (WHIP, relay pulls; see
// media/rtp_feed.go) is fed the source's RTP packets as they arrive, not
// frames: its packets keep the publisher's payloads, sequence
// numbers and timestamps, and each viewer's down track rewrites only SSRC,
// sequence and timestamp offsets exactly as for RTMP streams. We chose this
// over depacketizing into frames and packetizing again because
//   - the ring, the per-viewer cursors, NACK answers and the skip-to-keyframe
//     logic only need packets with a sequence number, a timestamp, a marker
//     and a keyframe flag, which RTP already has;
//   - re-packetizing would cost a copy and a payloader run per packet, and
//     would have to wait for a whole access unit (a frame of latency) while
//     forwarding can pass on each packet at once;
//   - the publisher's sequence numbers let a retransmitted packet (NACKed by
//     our receiver) reach the viewers with the number they are missing.
// The depacketized frames still go into the media.Stream, for FLV viewers,
// stream health and the Opus -> AAC transcoder; this broadcaster does not
// read them.

// rtpGOPReplay is the oldest cached keyframe a new viewer of a WHIP stream
// is started from; past it a fresh keyframe is requested instead.
const rtpGOPReplay = time.Second

// rtpSource is the RTP side of a broadcaster: it is the sink of the
// stream's media.RTPFeed.
type rtpSource struct {
	b      *broadcaster
	feed   *media.RTPFeed
	clocks [2]rtpClock // video, audio
}

var _ media.RTPSink = (*rtpSource)(nil)

// newRTPBroadcaster returns the broadcaster of a stream with an RTP feed,
// attached to the feed.
func newRTPBroadcaster(s *media.Stream, feed *media.RTPFeed, ringPackets, ringBytes int, log *slog.Logger) *broadcaster {
	b := newBroadcaster(s, ringPackets, ringBytes, log)
	b.rtp = &rtpSource{b: b, feed: feed}
	b.hasVideo.Store(feed.Video() != media.CodecUnknown)
	b.detach = feed.Attach(b.rtp)
	return b
}

// WriteRTP implements media.RTPSink: one source packet goes to the
// viewers. It runs on the source's read goroutine of that track; the
// payload is immutable and shared.
func (r *rtpSource) WriteRTP(p *media.RTPPacket) {
	b := r.b
	pk := &packet{
		audio:   p.Audio,
		seq:     p.Seq,
		ts:      p.TS,
		marker:  p.Marker,
		keyHead: p.KeyHead,
		payload: p.Payload,
	}
	if p.Audio {
		b.lastAudioTS.Store(p.TS)
		b.hasAudio.Store(true)
	}
	r.clocks[trackIndex(p.Audio)].observe(p.TS, p.Arrival)
	one := [1]*packet{pk}
	b.ring.append(one[:])
	b.wakeAll()
}

// SenderReport implements media.RTPSink.
func (r *rtpSource) SenderReport(audio bool, rtpTime uint32, ntpTime uint64) {
	r.clocks[trackIndex(audio)].senderReport(rtpTime, ntpTime)
}

// rtpClock maps wall time to a track's RTP time for the sender reports we
// send viewers: from the publisher's own sender reports when it sends them
// (which keeps its audio and video in sync), else from the first packet's
// arrival.
type rtpClock struct {
	mu   sync.Mutex
	set  bool
	ts   uint32
	wall time.Time
}

func (c *rtpClock) observe(ts uint32, now time.Time) {
	c.mu.Lock()
	if !c.set {
		c.set, c.ts, c.wall = true, ts, now
	}
	c.mu.Unlock()
}

// senderReport takes the publisher's NTP/RTP pair.
func (c *rtpClock) senderReport(ts uint32, ntp uint64) {
	sec := int64(ntp>>32) - ntpEpochOffset
	frac := int64(ntp&0xffffffff) * 1e9 >> 32
	c.mu.Lock()
	c.set, c.ts, c.wall = true, ts, time.Unix(sec, frac)
	c.mu.Unlock()
}

func (c *rtpClock) at(now time.Time, clockRate uint32) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		return 0, false
	}
	d := now.Sub(c.wall)
	return c.ts + uint32(d.Nanoseconds()*int64(clockRate)/int64(time.Second)), true
}

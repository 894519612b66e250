package sfu

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtp"
)

// A WHIP stream's broadcaster is fed the publisher's RTP packets as they
// arrive, not frames: its packets keep the publisher's payloads, sequence
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

// pliInterval throttles keyframe requests to a publisher: a keyframe costs
// several frames' worth of bitrate, and many viewers joining or losing
// packets at once need only one.
const pliInterval = 500 * time.Millisecond

// rtpSource is the WHIP side of a broadcaster.
type rtpSource struct {
	// askKeyframe sends a PLI to the publisher.
	askKeyframe func()
	lastPLI     atomic.Int64 // unix ns
	pending     atomic.Bool  // a held request waits for the window's end
	plis        atomic.Uint64
	keyAt       atomic.Int64 // unix ns of the last keyframe
	clocks      [2]rtpClock  // video, audio
	// replayAny starts new viewers from the cached keyframe however old
	// (a relay: the origin's RTMP encoder cannot make a fresh one).
	replayAny bool

	// Video writer state (the publisher's video read goroutine only).
	keyTS     uint32
	keyMarked bool
}

func newRTPBroadcaster(s *media.Stream, ringPackets, ringBytes int, askKeyframe func(), log *slog.Logger) *broadcaster {
	b := newBroadcaster(s, ringPackets, ringBytes, log)
	b.rtp = &rtpSource{askKeyframe: askKeyframe}
	return b
}

func (r *rtpSource) keyframeAge() time.Duration {
	at := r.keyAt.Load()
	if at == 0 {
		return time.Hour
	}
	return time.Since(time.Unix(0, at))
}

func (r *rtpSource) requestKeyframe() {
	now := time.Now().UnixNano()
	last := r.lastPLI.Load()
	if wait := int64(pliInterval) - (now - last); wait > 0 {
		// Inside the throttle window the request is held, not dropped: one
		// deferred request goes at the window's end unless a keyframe
		// arrives first, so a viewer joining right after another waits at
		// most pliInterval plus a round trip, never a whole GOP.
		if r.pending.CompareAndSwap(false, true) {
			time.AfterFunc(time.Duration(wait), func() {
				r.pending.Store(false)
				if r.keyAt.Load() < now {
					r.requestKeyframe()
				}
			})
		}
		return
	}
	if !r.lastPLI.CompareAndSwap(last, now) {
		return
	}
	r.plis.Add(1)
	if r.askKeyframe != nil {
		r.askKeyframe()
	}
}

// writeRTP forwards one publisher packet to the viewers. key says the
// packet holds (the start of) a keyframe; the first such packet of an
// access unit becomes the point new viewers start from. It runs on the
// publisher's read goroutine of that track and copies the payload (pion
// reuses its buffer); the copy is returned, immutable.
func (b *broadcaster) writeRTP(audio bool, p *rtp.Packet, key bool, now time.Time) []byte {
	r := b.rtp
	pk := &packet{
		audio:   audio,
		seq:     p.SequenceNumber,
		ts:      p.Timestamp,
		marker:  p.Marker,
		payload: append([]byte(nil), p.Payload...),
	}
	if audio {
		b.lastAudioTS.Store(p.Timestamp)
		b.hasAudio.Store(true)
	} else if key {
		if !r.keyMarked || r.keyTS != p.Timestamp {
			pk.keyHead = true
			r.keyTS, r.keyMarked = p.Timestamp, true
			r.keyAt.Store(now.UnixNano())
		}
	}
	r.clocks[trackIndex(audio)].observe(p.Timestamp, now)
	one := [1]*packet{pk}
	b.ring.append(one[:])
	for _, s := range b.subs.Load() {
		s.notify()
	}
	return pk.payload
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

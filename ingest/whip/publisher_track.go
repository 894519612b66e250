package whip

import (
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// trackClock turns a track's RTP timestamps into stream DTS: the first
// packet's arrival after the stream's start, then RTP time (unwrapped), so
// audio and video line up to within the network's jitter for FLV.
type trackClock struct {
	// media: ts is the stream's media time times rate (a relay from a
	// node that says so), shared by every track.
	media   bool
	rate    int64
	started bool
	base    time.Duration
	last    uint32
	ext     int64
}

func (c *trackClock) dts(ts uint32, arrival, t0 time.Time) time.Duration {
	if !c.started {
		c.started, c.base, c.last = true, arrival.Sub(t0), ts
		if c.media {
			// The upstream's timestamps are the media time itself.
			c.base, c.ext = 0, int64(ts)
		}
	}
	c.ext += int64(int32(ts - c.last))
	c.last = ts
	return c.base + time.Duration(c.ext*int64(time.Second)/c.rate)
}

// readTrack forwards one of the publisher's tracks until the connection
// closes: every packet goes to the stream's RTP feed (the viewers) at once,
// then into the stream as frames.
func (p *publisher) readTrack(tr *webrtc.TrackRemote) {
	defer p.wg.Done()
	mime := tr.Codec().MimeType
	audio := tr.Kind() == webrtc.RTPCodecTypeAudio
	p.log.Info("incoming track", "kind", tr.Kind().String(), "codec", mime, "ssrc", uint32(tr.SSRC()))
	if !audio {
		p.videoSSRC.Store(uint32(tr.SSRC()))
		// The viewers that waited for this publisher need a keyframe now.
		p.feed.RequestKeyframe()
	}
	var (
		pkt    rtp.Packet
		buf    = make([]byte, 1600)
		dep    h264Depacketizer
		vp8Dep vp8Depacketizer
		aacDep rtc.AACDepacketizer
		// fwd is the packet handed to the feed (its sink copies what it
		// keeps), reused.
		fwd      media.RTPPacket
		vp8W     int
		vp8H     int
		clock    = trackClock{rate: int64(tr.Codec().ClockRate), media: p.mediaClock}
		trackSet bool
		t0       = p.stream.StartedAt()
	)
	if clock.rate == 0 {
		clock.rate = 90000
	}
	h264 := strings.EqualFold(mime, webrtc.MimeTypeH264)
	vp8 := strings.EqualFold(mime, webrtc.MimeTypeVP8)
	opus := strings.EqualFold(mime, webrtc.MimeTypeOpus)
	aac := strings.EqualFold(mime, rtc.MimeAAC)
	var (
		lastAAC    time.Duration
		aacWritten bool
	)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil || len(pkt.Payload) == 0 {
			continue
		}
		now := time.Now()
		p.lastRTP.Store(now.UnixNano())
		if p.packets.Add(1) == 1 {
			p.firstMedia()
		}
		switch {
		case aac:
			// A relay's AAC (its track was set from the answer): frames
			// for FLV viewers only.
			units, err := aacDep.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload)
			if err != nil {
				p.log.Debug("dropping aac packet", "err", err)
			}
			for _, u := range units {
				dts := clock.dts(u.TS, now, t0)
				if aacWritten && dts <= lastAAC {
					// A late or repeated packet (a retransmission):
					// FLV players need increasing timestamps.
					continue
				}
				aacWritten, lastAAC = true, dts
				_ = p.stream.WriteFrame(&media.Frame{Codec: media.CodecAAC, DTS: dts, Data: u.Data})
			}
		case opus:
			payload := p.forward(&fwd, true, &pkt, false, now)
			if !trackSet {
				p.stream.SetTrack(&media.Track{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2})
				trackSet = true
			}
			// The frame shares the forwarded packet's payload copy:
			// both are immutable.
			_ = p.stream.WriteFrame(&media.Frame{Codec: media.CodecOpus, DTS: clock.dts(pkt.Timestamp, now, t0), Data: payload})
		case h264:
			p.forward(&fwd, false, &pkt, h264Keyframe(pkt.Payload), now)
			au, lost := dep.push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload)
			if lost {
				// FLV viewers would see a broken picture until the
				// next keyframe: ask for one.
				p.feed.RequestKeyframe()
			}
			if cfg, ok := dep.paramSetsChanged(); ok {
				p.stream.SetTrack(&media.Track{Codec: media.CodecH264, H264: cfg})
				trackSet = true
			}
			if au != nil && trackSet {
				_ = p.stream.WriteFrame(&media.Frame{Codec: media.CodecH264, DTS: clock.dts(au.ts, now, t0), Keyframe: au.key, Data: au.data})
			}
		case vp8:
			p.forward(&fwd, false, &pkt, vp8Keyframe(pkt.Payload), now)
			// Frames only for stream health and the GOP cache: FLV
			// cannot carry VP8, so a loss needs no keyframe here.
			if f, _ := vp8Dep.push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload); f != nil {
				if w, h, ok := vp8KeyframeSize(f.data); ok && f.key && (w != vp8W || h != vp8H) {
					// Stream health shows the size; a new size is a new track.
					vp8W, vp8H = w, h
					p.stream.SetTrack(&media.Track{Codec: media.CodecVP8, Width: w, Height: h})
				}
				_ = p.stream.WriteFrame(&media.Frame{Codec: media.CodecVP8, DTS: clock.dts(f.ts, now, t0), Keyframe: f.key, Data: f.data})
			}
		}
	}
}

// forward hands one packet to the stream's RTP feed. key says the packet
// holds (the start of) a keyframe. The payload is copied (pion reuses its
// buffer); the copy is returned, immutable.
func (p *publisher) forward(fwd *media.RTPPacket, audio bool, pkt *rtp.Packet, key bool, now time.Time) []byte {
	*fwd = media.RTPPacket{
		Audio:   audio,
		Seq:     pkt.SequenceNumber,
		TS:      pkt.Timestamp,
		Marker:  pkt.Marker,
		Key:     key,
		Arrival: now,
		Payload: append([]byte(nil), pkt.Payload...),
	}
	p.feed.Write(fwd)
	return fwd.Payload
}

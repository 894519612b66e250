package transcode

import (
	"bytes"
	"log/slog"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

// maxDrift is how far the Opus timestamps may wander from the AAC input's
// before they are reset to it (publisher gaps, clock wobble): about two
// Opus frames, well inside what lip sync tolerates.
const maxDrift = 40 * time.Millisecond

// opusFrame is the Opus frame duration we encode: 20 ms, the WebRTC default.
const opusFrame = 20 * time.Millisecond

// AACToOpus transcodes a stream's AAC track to an Opus track written back
// into the same stream (Derived: true), once for all WebRTC viewers.
//
// It is a media.Reader: OnFrame only queues the frame (dropping, counted,
// when the queue is full), and a goroutine of its own decodes, resamples and
// encodes, so the publisher is never slowed down.
type AACToOpus struct {
	worker[queued]
	cfg Config

	// cur is the AAC config frames are queued with; only the stream's
	// writer goroutine touches it (OnTrack/OnFrame).
	cur *media.AACConfig
}

type queued struct {
	f   *media.Frame
	cfg *media.AACConfig
}

var _ media.Reader = (*AACToOpus)(nil)

// NewAACToOpus returns a transcoder that is not yet attached to a stream;
// Run attaches it. Most callers want Start.
func NewAACToOpus(cfg Config, log *slog.Logger) (*AACToOpus, error) {
	if !cgoEnabled {
		return nil, ErrUnavailable
	}
	cfg.setDefaults()
	t := &AACToOpus{cfg: cfg}
	t.init(cfg, log, cfg.Meter.aacToOpus(), "aac")
	return t, nil
}

// Run attaches t to s and starts its goroutine. Call it once.
func (t *AACToOpus) Run(s *media.Stream) error { return t.start(s, t, t.loop) }

// OnTrack implements media.Reader.
func (t *AACToOpus) OnTrack(tr *media.Track) {
	if tr.Codec == media.CodecAAC {
		// A derived AAC track is the Opus -> AAC transcoder's output:
		// never transcode it back.
		if tr.AAC != nil && !tr.Derived {
			t.cur = tr.AAC
		} else {
			t.cur = nil
		}
	}
}

// OnFrame implements media.Reader. It never blocks.
func (t *AACToOpus) OnFrame(f *media.Frame) {
	if f.Codec != media.CodecAAC || t.cur == nil {
		return
	}
	t.offer(queued{f: f, cfg: t.cur})
}

// opusTimeline turns the 20 ms Opus frames into DTS on the AAC input's
// clock: the first Opus frame gets the first AAC frame's DTS, then each one
// 20 ms more, reset to the input's timing when they drift apart.
type opusTimeline struct {
	started bool
	next    time.Duration
}

// place returns the DTS of the next Opus frame given where the input says
// the fifo's first sample is, and whether that was a resync.
func (o *opusTimeline) place(inputHead time.Duration) (dts time.Duration, resync bool) {
	if !o.started {
		o.started, o.next = true, inputHead
	} else if d := o.next - inputHead; d > maxDrift || d < -maxDrift {
		o.next, resync = inputHead, true
	}
	dts = o.next
	o.next += opusFrame
	return dts, resync
}

func (t *AACToOpus) loop(s *media.Stream) {
	defer close(t.done)
	defer t.detach()
	var (
		codec    *aacOpusCodec
		codecCfg *media.AACConfig
		tl       opusTimeline
		trackSet bool
		// busySince is when the current frame's work began.
		busySince time.Time
	)
	defer func() {
		if codec != nil {
			codec.free()
		}
	}()
	for {
		t.meter.busy(busySince)
		var q queued
		select {
		case q = <-t.queue:
		case <-s.Done():
			return
		case <-t.stop:
			return
		}
		busySince = time.Now()
		if q.cfg != codecCfg && (codecCfg == nil || !bytes.Equal(q.cfg.Raw, codecCfg.Raw)) {
			if codec != nil {
				codec.free()
				codec = nil
			}
			codecCfg = q.cfg
			c, err := newAACOpusCodec(q.cfg.Raw, t.cfg.BitrateBps, t.cfg.Complexity)
			if err != nil {
				t.log.Error("cannot transcode aac to opus", "err", err)
				continue
			}
			codec = c
			t.log.Info("transcoding aac to opus", "aac_rate", q.cfg.SampleRate, "aac_channels", q.cfg.Channels,
				"object_type", q.cfg.ObjectType, "opus_bitrate", t.cfg.BitrateBps)
		}
		if codec == nil {
			continue
		}
		added, err := codec.decode(q.f.Data)
		if err != nil {
			if t.decodeErrors.Add(1)%100 == 1 {
				t.log.Warn("aac decode failed", "err", err, "errors", t.decodeErrors.Load())
			}
			continue
		}
		// The input says the fifo ends where this frame ends.
		end := q.f.DTS + samplesToDuration(added)
		for {
			head := end - samplesToDuration(codec.buffered())
			pkt, err := codec.encode()
			if err != nil {
				t.log.Warn("opus encode failed", "err", err)
				break
			}
			if pkt == nil {
				break
			}
			dts, resync := tl.place(head)
			if resync {
				t.resyncs.Add(1)
			}
			if !trackSet {
				s.SetTrack(&media.Track{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2, Derived: true})
				trackSet = true
			}
			f := &media.Frame{Codec: media.CodecOpus, DTS: dts, Data: append([]byte(nil), pkt...)}
			if err := s.WriteFrame(f); err != nil {
				return
			}
			t.framesOut.Add(1)
			t.meter.frameOut()
		}
	}
}

func samplesToDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / 48000
}

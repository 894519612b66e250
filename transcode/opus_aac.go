package transcode

import (
	"log/slog"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

// maxInputGap is how far an Opus frame's DTS may be from where the decoded
// samples say it should be before the AAC timeline is moved to it (packet
// loss, a paused publisher): beyond lip-sync tolerance, small against real
// gaps.
const maxInputGap = 100 * time.Millisecond

// OpusToAAC transcodes a WHIP publisher's Opus track to an AAC track written
// back into the same stream (Derived: true), once for all FLV viewers
// (flv.js cannot play Opus).
//
// Like AACToOpus it is a media.Reader whose OnFrame only queues; its own
// goroutine decodes (libopus) and encodes (libavcodec aac).
type OpusToAAC struct {
	worker[*media.Frame]
	cfg Config

	// active is set while the stream's Opus track is the publisher's own
	// (not the AAC -> Opus transcoder's output); writer goroutine only.
	active bool
}

var _ media.Reader = (*OpusToAAC)(nil)

// NewOpusToAAC returns a transcoder that is not yet attached; Run attaches it.
func NewOpusToAAC(cfg Config, log *slog.Logger) (*OpusToAAC, error) {
	if !cgoEnabled {
		return nil, ErrUnavailable
	}
	cfg.setDefaults()
	t := &OpusToAAC{cfg: cfg}
	t.init(cfg, log, cfg.Meter.opusToAAC(), "opus")
	return t, nil
}

// Run attaches t to s and starts its goroutine. Call it once.
func (t *OpusToAAC) Run(s *media.Stream) error { return t.start(s, t, t.loop) }

// OnTrack implements media.Reader.
func (t *OpusToAAC) OnTrack(tr *media.Track) {
	if tr.Codec == media.CodecOpus {
		t.active = !tr.Derived
	}
}

// OnFrame implements media.Reader. It never blocks.
func (t *OpusToAAC) OnFrame(f *media.Frame) {
	if f.Codec != media.CodecOpus || !t.active {
		return
	}
	t.offer(f)
}

func (t *OpusToAAC) loop(s *media.Stream) {
	defer close(t.done)
	defer t.detach()
	var codec *opusAACCodec
	defer func() {
		if codec != nil {
			codec.free()
		}
	}()
	var (
		// base is the DTS of sample 0 of the encoder's timeline; decoded
		// counts the samples fed so far.
		base     time.Duration
		decoded  int64
		started  bool
		trackSet bool
		lastDTS  time.Duration = -1
		// busySince is when the current frame's work began.
		busySince time.Time
	)
	for {
		t.meter.busy(busySince)
		var f *media.Frame
		select {
		case f = <-t.queue:
		case <-s.Done():
			return
		case <-t.stop:
			return
		}
		busySince = time.Now()
		if codec == nil {
			c, err := newOpusAACCodec(t.cfg.AACBitrateBps)
			if err != nil {
				t.log.Error("cannot transcode opus to aac", "err", err)
				return
			}
			codec = c
			t.log.Info("transcoding opus to aac", "aac_bitrate", t.cfg.AACBitrateBps)
		}
		expect := base + samplesToDuration(int(decoded))
		if !started {
			base, started = f.DTS, true
		} else if d := f.DTS - expect; d > maxInputGap || d < -maxInputGap {
			base += d
			t.resyncs.Add(1)
		}
		n, err := codec.decode(f.Data)
		if err != nil {
			if t.decodeErrors.Add(1)%100 == 1 {
				t.log.Warn("opus decode failed", "err", err, "errors", t.decodeErrors.Load())
			}
			continue
		}
		decoded += int64(n)
		for {
			au, pts, err := codec.encode()
			if err != nil {
				t.log.Warn("aac encode failed", "err", err)
				break
			}
			if au == nil {
				break
			}
			if pts < 0 {
				// Encoder priming (before the first input sample):
				// FLV has no edit list to hide it, players would play
				// it late.
				continue
			}
			if !trackSet {
				asc := codec.audioSpecificConfig()
				cfg, err := media.ParseAudioSpecificConfig(asc)
				if err != nil {
					t.log.Error("aac encoder config unusable", "err", err)
					return
				}
				s.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: cfg, SampleRate: cfg.SampleRate, Channels: cfg.Channels, Derived: true})
				trackSet = true
			}
			dts := base + samplesToDuration(int(pts))
			if dts <= lastDTS {
				dts = lastDTS + time.Millisecond
			}
			lastDTS = dts
			out := &media.Frame{Codec: media.CodecAAC, DTS: dts, Data: append([]byte(nil), au...)}
			if err := s.WriteFrame(out); err != nil {
				return
			}
			t.framesOut.Add(1)
			t.meter.frameOut()
		}
	}
}

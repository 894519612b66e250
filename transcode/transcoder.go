package transcode

import (
	"fmt"
	"log/slog"

	"github.com/bookmygig/bookmygig/media"
)

// Transcoder is the audio transcoding of one stream, in whichever direction
// its publisher needs: AAC (RTMP) -> Opus for WebRTC viewers, Opus (WHIP) ->
// AAC for FLV viewers. Both halves are attached; each one wakes up only when
// the stream's non-derived audio track has its source codec, so the other
// costs an idle goroutine, and neither ever reads the other's output.
type Transcoder struct {
	aac  *AACToOpus
	opus *OpusToAAC
	done chan struct{}
}

// Start attaches a Transcoder to s and runs it until s ends or Close is
// called. It returns at once: the codecs open when the publisher's audio
// track appears (often after Publish). Call it for every published stream.
func Start(s *media.Stream, cfg Config, log *slog.Logger) (*Transcoder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("gig", s.GigID())
	a, err := NewAACToOpus(cfg, log)
	if err != nil {
		return nil, err
	}
	o, err := NewOpusToAAC(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := a.Run(s); err != nil {
		return nil, err
	}
	if err := o.Run(s); err != nil {
		a.Close()
		return nil, fmt.Errorf("attach transcoder to gig %s: %w", s.GigID(), err)
	}
	t := &Transcoder{aac: a, opus: o, done: make(chan struct{})}
	go func() {
		<-a.Done()
		<-o.Done()
		close(t.done)
	}()
	return t, nil
}

// Close stops both directions and waits for them. Idempotent.
func (t *Transcoder) Close() {
	t.aac.Close()
	t.opus.Close()
	<-t.done
}

// Done is closed when the transcoder stopped (stream ended or Close).
func (t *Transcoder) Done() <-chan struct{} { return t.done }

// Stats returns the counters of the direction that is working (AAC -> Opus
// when both are idle).
func (t *Transcoder) Stats() Stats {
	if s := t.opus.Stats(); s.FramesIn > 0 {
		return s
	}
	return t.aac.Stats()
}

// AACToOpus returns the AAC -> Opus half.
func (t *Transcoder) AACToOpus() *AACToOpus { return t.aac }

// OpusToAAC returns the Opus -> AAC half.
func (t *Transcoder) OpusToAAC() *OpusToAAC { return t.opus }

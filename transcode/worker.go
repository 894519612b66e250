package transcode

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/bookmygig/bookmygig/media"
)

// worker is what both transcoder directions share: a bounded queue filled
// on the stream's writer goroutine (never blocking it), one goroutine of the
// transcoder's own draining it, the counters and the lifecycle.
type worker[T any] struct {
	log    *slog.Logger
	codec  string // the input codec, for the too-slow warning
	queue  chan T
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	detach func()

	framesIn, dropped, decodeErrors, framesOut, resyncs atomic.Uint64
	meter                                               *direction
}

func (w *worker[T]) init(cfg Config, log *slog.Logger, meter *direction, codec string) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w.log = log.With("component", "transcode")
	w.codec = codec
	w.meter = meter
	w.queue = make(chan T, cfg.QueueFrames)
	w.stop = make(chan struct{})
	w.done = make(chan struct{})
}

// offer queues v, or drops it (counted) when the transcoder is behind.
func (w *worker[T]) offer(v T) {
	w.framesIn.Add(1)
	w.meter.frameIn()
	select {
	case w.queue <- v:
	default:
		w.meter.drop()
		if w.dropped.Add(1)%100 == 1 {
			w.log.Warn("transcoder is too slow, dropping "+w.codec+" frames", "dropped", w.dropped.Load())
		}
	}
}

// start attaches r (the transcoder) to s and runs loop on its own goroutine.
func (w *worker[T]) start(s *media.Stream, r media.Reader, loop func(*media.Stream)) error {
	detach, err := s.Attach(r, false)
	if err != nil {
		return fmt.Errorf("attach transcoder to gig %s: %w", s.GigID(), err)
	}
	w.detach = detach
	go loop(s)
	return nil
}

// Close stops the transcoder and waits for its goroutine. Idempotent.
func (w *worker[T]) Close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// Done is closed when the transcoder stopped (stream ended or Close).
func (w *worker[T]) Done() <-chan struct{} { return w.done }

// Stats returns the transcoder's counters (FramesOut counts output frames).
func (w *worker[T]) Stats() Stats {
	return Stats{
		FramesIn:     w.framesIn.Load(),
		Dropped:      w.dropped.Load(),
		DecodeErrors: w.decodeErrors.Load(),
		FramesOut:    w.framesOut.Load(),
		Resyncs:      w.resyncs.Load(),
	}
}

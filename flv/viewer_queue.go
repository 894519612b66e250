package flv

import (
	"sync"
	"sync/atomic"

	"github.com/bookmygig/bookmygig/media"
)

// viewer is one HTTP-FLV or WS-FLV connection. The stream's writer pushes
// shared tags into its bounded ring; the viewer's own goroutine drains it.
// push never blocks: a full ring makes the viewer skip to the next keyframe.
type viewer struct {
	mu       sync.Mutex
	ring     []*tag
	head, n  int
	skipping bool // dropping tags until the next keyframe
	hasVideo bool // keyframes exist to resync on
	ended    bool // the stream ended or the handler closes: drain and finish
	aborted  bool // finish at once without draining
	waiting  bool // the goroutine sleeps on wake
	// due is set once a tag that must go out now is queued (video, a
	// header, audio past the hold cap); until then queued audio is held so
	// that it rides with the next write instead of costing one of its own.
	due   bool
	skips int
	// cause is why the viewer's pass ended (set with aborted).
	cause error
	ctr   *counters // nil in unit tests
	wake  chan struct{}

	// feed is the feed the viewer is queued on; Handler.mu guards it.
	feed *feed
	// stream is the stream the viewer watches, for its viewer count; it
	// changes when the viewer moves to the gig's next stream.
	stream atomic.Pointer[media.Stream]
}

func newViewer(capacity int, hasVideo bool) *viewer {
	return &viewer{ring: make([]*tag, capacity), hasVideo: hasVideo, wake: make(chan struct{}, 1)}
}

// push queues t and wakes the viewer's goroutine. It is called on the
// stream's writer goroutine.
func (v *viewer) push(t *tag) { v.enqueue(t, true) }

// enqueue queues t; with wake false t is held: the viewer's goroutine
// neither wakes for it nor writes it on its own, and it goes out with the
// next tag queued with wake (or at flush). The feed holds audio this way
// until the next video frame, so a viewer costs one write per video frame
// instead of one per tag.
func (v *viewer) enqueue(t *tag, wake bool) {
	v.mu.Lock()
	if v.ended {
		v.mu.Unlock()
		return
	}
	if v.n == len(v.ring) {
		v.overflowLocked()
	}
	if v.skipping && t.kind != kindHeader {
		if !(t.key || (!v.hasVideo && t.kind == kindAudio)) {
			v.mu.Unlock()
			return
		}
		v.skipping = false
	}
	if v.n == len(v.ring) {
		// Only header tags left and still full: cannot happen with sane
		// capacities; dropping is the only non-blocking choice.
		v.mu.Unlock()
		return
	}
	v.ring[(v.head+v.n)%len(v.ring)] = t
	v.n++
	signal := wake && v.dueLocked()
	v.mu.Unlock()
	if signal {
		v.signal()
	}
}

// flush makes the held tags due: they go out even though no video frame
// came to carry them.
func (v *viewer) flush() {
	v.mu.Lock()
	signal := v.n > 0 && v.dueLocked()
	v.mu.Unlock()
	if signal {
		v.signal()
	}
}

// dueLocked marks the queue due and reports whether the goroutine sleeps
// and must be signalled (outside the lock, so it does not wake into it).
func (v *viewer) dueLocked() bool {
	v.due = true
	if !v.waiting {
		return false
	}
	v.waiting = false
	return true
}

func (v *viewer) signal() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// overflowLocked drops every queued media tag (keeping sequence headers in
// order) and resyncs at the next keyframe: a late viewer jumps ahead instead
// of holding the writer or growing without bound.
func (v *viewer) overflowLocked() {
	kept := 0
	for i := 0; i < v.n; i++ {
		idx := (v.head + i) % len(v.ring)
		t := v.ring[idx]
		v.ring[idx] = nil
		if t.kind == kindHeader {
			v.ring[(v.head+kept)%len(v.ring)] = t
			kept++
		}
	}
	v.n = kept
	v.skipping = true
	v.skips++
	v.ctr.skip()
}

// take moves the queued tags into dst once they are due (or the viewer is
// ending). It returns ended once the queue is drained and the viewer should
// finish. When it returns nothing it arms the wake channel.
func (v *viewer) take(dst []*tag) (out []*tag, ended, aborted bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.aborted {
		return dst, true, true
	}
	if !v.due && !v.ended {
		v.waiting = true // held tags wait for the next due one
		return dst, false, false
	}
	v.due = false
	for v.n > 0 {
		dst = append(dst, v.ring[v.head])
		v.ring[v.head] = nil
		v.head = (v.head + 1) % len(v.ring)
		v.n--
	}
	if len(dst) == 0 {
		if v.ended {
			return dst, true, false
		}
		v.waiting = true
	}
	return dst, false, false
}

// end finishes the viewer after it has written what is queued.
func (v *viewer) end() { v.finish(false) }

// abort finishes the viewer at once.
func (v *viewer) abort() { v.finish(true) }

func (v *viewer) finish(abort bool) {
	v.mu.Lock()
	v.ended = true
	if abort {
		v.aborted = true
	}
	v.mu.Unlock()
	v.signal()
}

// passEnded finishes the viewer at once because its ticket no longer
// admits it; endCause then reports err.
func (v *viewer) passEnded(err error) {
	v.mu.Lock()
	v.cause = err
	v.ended, v.aborted = true, true
	v.mu.Unlock()
	v.signal()
}

func (v *viewer) endCause() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cause
}

func (v *viewer) skipCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.skips
}

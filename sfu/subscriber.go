package sfu

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/icelite"
	"github.com/bookmygig/bookmygig/internal/rtc"
)

// readBatch is how many packet pointers a viewer copies out of the ring per
// read lock.
const readBatch = 64

// errStreamEnded is how a subscriber's run ends when its stream did.
var errStreamEnded = errors.New("stream ended")

// maxWriteErrors is how many consecutive write errors end a session: the
// transport is gone even if ICE has not noticed yet.
const maxWriteErrors = 200

// subscriber is one viewer's reader of a broadcaster's ring. Its goroutine
// owns the cursor and writes every packet to the viewer's down tracks, so a
// viewer whose transport blocks (ICE-TCP with a full window) holds up only
// itself; if the ring moves past it, it skips to the newest keyframe.
type subscriber struct {
	b      *broadcaster
	tracks [2]*downTrack // video, audio; nil when not negotiated
	wake   chan struct{}

	cursor  uint64
	waitKey bool

	// pace is a token bucket in bytes for the catch-up only (the packets
	// that were cached when the viewer started, up to catchUpEnd): the
	// first frame goes out at once (time to first frame), the rest of the
	// GOP at most at paceRate after paceBurst, so a new viewer's socket
	// buffer and the path to it are not flooded. Live packets are never
	// paced: that would add latency after every keyframe.
	catchUpEnd uint64
	firstDone  bool
	paceRate   float64 // bytes per second
	paceBurst  float64
	tokens     float64
	lastRefill time.Time

	// egress, when set, batches the writes of each burst into one send.
	egress *rtc.UDPDest
	// ctr is the SFU's counters; nil in unit tests.
	ctr *counters

	// errs counts consecutive write errors.
	errs int

	// peer is set for an icelite viewer: with egress, the fan-out loop
	// can serve it. inLoop is true while the loop owns the subscriber
	// (its cursor, tracks and counters); loopErr is why the loop handed
	// it back.
	peer    *icelite.Peer
	inLoop  atomic.Bool
	loopErr error

	skips      atomic.Uint32
	firstWrite atomic.Bool
	onFirst    func()
}

func newSubscriber(b *broadcaster, video, audio *downTrack, paceBps, burstBytes int) *subscriber {
	return &subscriber{
		b:         b,
		tracks:    [2]*downTrack{video, audio},
		wake:      make(chan struct{}, 1),
		paceRate:  float64(paceBps) / 8,
		paceBurst: float64(burstBytes),
		tokens:    float64(burstBytes),
	}
}

// refill adds the tokens earned since the last refill.
func (s *subscriber) refill(now time.Time) {
	if !s.lastRefill.IsZero() {
		s.tokens += now.Sub(s.lastRefill).Seconds() * s.paceRate
		if s.tokens > s.paceBurst {
			s.tokens = s.paceBurst
		}
	}
	s.lastRefill = now
}

// pace waits until n bytes may be sent; false if ctx ended meanwhile.
func (s *subscriber) pace(ctx context.Context, n int) bool {
	s.tokens -= float64(n)
	if s.tokens >= 0 || s.paceRate <= 0 {
		return true
	}
	wait := time.Duration(-s.tokens / s.paceRate * float64(time.Second))
	s.flush()
	defer s.cork()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		s.refill(time.Now())
		return true
	case <-ctx.Done():
		return false
	}
}

// notify wakes the subscriber's goroutine without blocking: one pending
// wake-up is enough, it reads everything new each time.
func (s *subscriber) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends the cached GOP as fast as the transport takes it, then live
// packets, until ctx ends or the transport fails (returned error). A live
// icelite viewer on UDP is handed to the stream's fan-out loop, which
// serves all such viewers from one goroutine (fanout_loop.go); this
// goroutine then only waits for it to be handed back (a skip, a failed
// transport) or for the end.
func (s *subscriber) run(ctx context.Context) error {
	s.cursor, s.waitKey = s.b.startPos()
	s.catchUpEnd = s.b.ring.headPos()
	s.b.subscribe(s)
	defer s.b.unsubscribe(s)
	defer s.flush()
	// The goroutine sleeps on its wake channel alone: a three-way select
	// (wake, ctx, stream end) at every one of its ~80 wake-ups a second
	// locks three channels, one of them shared by all the stream's viewers.
	// Ending the session or the stream wakes it instead.
	defer context.AfterFunc(ctx, s.notify)()
	for {
		switch err := s.drain(ctx, nil, time.Time{}); {
		case errors.Is(err, errQuit):
			return nil
		case err != nil:
			return err
		}
		// Checked before sleeping: broadcaster.close closes done before
		// it wakes its subscribers, and a cancelled ctx wakes us after
		// Err reports it, so neither can be missed.
		select {
		case <-s.b.done:
			return errStreamEnded
		default:
		}
		if ctx.Err() != nil {
			return nil
		}
		if s.live() {
			if err := s.handOff(ctx); err != nil {
				if errors.Is(err, errQuit) {
					return nil
				}
				return err
			}
			continue
		}
		<-s.wake
	}
}

// errQuit ends a subscriber's run without error (its session ended).
// errOverrun hands a viewer back from the fan-out loop to its goroutine,
// which skips it to the newest keyframe; errOffRoute, when the viewer's
// RTP no longer goes to its egress (ICE moved it), to be served there.
var (
	errQuit     = errors.New("session ended")
	errOverrun  = errors.New("ring moved past the viewer")
	errOffRoute = errors.New("viewer moved off its UDP route")
)

// live reports whether the fan-out loop can take the viewer: an icelite
// viewer on its UDP route, caught up (its paced catch-up done, not
// waiting for a keyframe).
func (s *subscriber) live() bool {
	return s.peer != nil && !s.waitKey && s.cursor > s.catchUpEnd && s.firstDone && rtc.OnRoute(s.peer, s.egress)
}

// drain sends what the ring has for the viewer. fan is nil on the
// viewer's own goroutine, which paces the catch-up and skips an overrun
// viewer ahead; the fan-out loop passes its batch (and the pass's time)
// and gets errOverrun instead, or errOffRoute (checked once per pass, not
// per packet). It returns nil once the viewer has all the
// ring has.
func (s *subscriber) drain(ctx context.Context, fan *rtc.Fanout, now time.Time) error {
	if fan != nil && !rtc.OnRoute(s.peer, s.egress) {
		return errOffRoute
	}
	var batch [readBatch]*packet
	for {
		n, overrun, restart, waitKey := s.b.ring.read(s.cursor, batch[:])
		if overrun {
			if fan != nil {
				return errOverrun
			}
			s.cursor, s.waitKey = restart, waitKey
			s.catchUpEnd, s.firstDone = s.b.ring.headPos(), false
			s.skips.Add(1)
			s.ctr.skip()
			s.resync()
			if waitKey {
				s.b.requestKeyframe()
			}
			continue
		}
		if n == 0 {
			return nil
		}
		if fan == nil {
			now = time.Now()
			s.refill(now)
		}
		for _, t := range s.tracks {
			if t != nil {
				t.lastWall = now
			}
		}
		var sentN, sentBytes uint64
		if fan == nil {
			s.cork()
		}
		for i, p := range batch[:n] {
			batch[i] = nil
			if s.b.ring.dropped(s.cursor) {
				// The transport stalled long enough for the
				// ring to move on: the rest of this batch is
				// stale, the next read skips ahead.
				clear(batch[i:n])
				break
			}
			s.cursor++
			if s.waitKey {
				if !p.keyHead {
					continue
				}
				s.waitKey = false
				s.resync()
			}
			t := s.tracks[trackIndex(p.audio)]
			if t == nil {
				continue
			}
			if p.audio && s.b.staleAudio(p) {
				// Catching up: start audio near live instead.
				t.markResync()
				continue
			}
			if fan == nil && s.cursor <= s.catchUpEnd && s.firstDone && !s.pace(ctx, len(p.payload)) {
				return errQuit
			}
			if !p.audio && p.marker {
				s.firstDone = true
			}
			var err error
			if fan != nil {
				err = t.writeFan(fan, s.peer, s.egress, p)
			} else {
				err = t.write(p)
			}
			if err != nil {
				if errors.Is(err, io.ErrClosedPipe) || errors.Is(err, io.EOF) {
					return err
				}
				s.errs++
				if s.errs >= maxWriteErrors {
					return err
				}
				continue
			}
			s.errs = 0
			sentN, sentBytes = sentN+1, sentBytes+uint64(len(p.payload))
			if !p.audio && !s.firstWrite.Load() {
				s.firstWrite.Store(true)
				if s.onFirst != nil {
					s.onFirst()
				}
			}
		}
		s.ctr.sent(sentN, sentBytes)
		if fan == nil {
			s.flush()
			if ctx.Err() != nil {
				return errQuit
			}
		}
	}
}

// handOff gives the viewer to the stream's fan-out loop and waits until
// the loop hands it back (nil: go on here; or the loop's write error) or
// the session or stream ends (errQuit, errStreamEnded).
func (s *subscriber) handOff(ctx context.Context) error {
	l := s.b.fanLoop(s.ctr)
	s.b.unsubscribe(s)
	defer s.b.subscribe(s)
	l.add(s)
	for {
		select {
		case <-s.wake:
		case <-s.b.done:
			l.remove(s)
			return errStreamEnded
		}
		if ctx.Err() != nil {
			l.remove(s)
			return errQuit
		}
		if !s.inLoop.Load() {
			// Handed back: the loop no longer touches s.
			err := s.loopErr
			s.loopErr = nil
			if errors.Is(err, errOverrun) || errors.Is(err, errOffRoute) {
				return nil
			}
			return err
		}
	}
}

func (s *subscriber) cork() {
	if s.egress != nil {
		s.egress.Cork()
	}
}

func (s *subscriber) flush() {
	if s.egress != nil {
		s.egress.Flush()
	}
}

func (s *subscriber) resync() {
	for _, t := range s.tracks {
		if t != nil {
			t.markResync()
		}
	}
}

package sfu

import (
	"context"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/rtc"
)

// fanLoop sends a stream's packets to all its live icelite viewers on UDP
// from one goroutine. A goroutine per viewer costs a wake-up, a read of the
// ring and a system call per viewer for every frame and audio packet (about
// 80 a second each); here one wake-up per packet batch serves every viewer,
// each packet is encrypted straight into a shared buffer, and the kernel
// gets dozens of viewers' GSO messages per sendmmsg (rtc.Fanout). Each
// viewer still reads the ring from its own cursor, so one that the ring
// overran is handed back to its own goroutine, which skips it ahead and
// paces its catch-up, then hands it over again (subscriber.handOff).
//
// Viewers over ICE-TCP or pion's transport keep their own goroutine: a
// blocked TCP window there holds up only that viewer.
type fanLoop struct {
	b    *broadcaster
	wake chan struct{}

	// mu is held for a whole pass: taking it (add, remove) waits until
	// the loop no longer touches any viewer.
	mu   sync.Mutex
	subs []*subscriber
	back []*subscriber
	fan  *rtc.Fanout
	ctr  *counters
}

// fanLoop returns the stream's loop, started on first use (counting in
// ctr); it ends with the stream.
func (b *broadcaster) fanLoop(ctr *counters) *fanLoop {
	b.fanOnce.Do(func() {
		l := &fanLoop{b: b, wake: make(chan struct{}, 1), fan: rtc.NewFanout(), ctr: ctr}
		b.fan.Store(l)
		go l.run()
	})
	return b.fan.Load()
}

// notify wakes the loop without blocking.
func (l *fanLoop) notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// add gives s to the loop.
func (l *fanLoop) add(s *subscriber) {
	l.mu.Lock()
	s.inLoop.Store(true)
	l.subs = append(l.subs, s)
	l.mu.Unlock()
	l.notify() // what came while it changed hands
}

// remove takes s back (its session or the stream ended); a no-op when the
// loop already handed it back.
func (l *fanLoop) remove(s *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.inLoop.Load() {
		l.drop(s)
	}
}

// drop takes s out of the loop; l.mu is held.
func (l *fanLoop) drop(s *subscriber) {
	for i, x := range l.subs {
		if x == s {
			last := len(l.subs) - 1
			l.subs[i] = l.subs[last]
			l.subs[last] = nil
			l.subs = l.subs[:last]
			break
		}
	}
	s.inLoop.Store(false)
}

func (l *fanLoop) run() {
	for {
		select {
		case <-l.wake:
		case <-l.b.done:
			// Each viewer's goroutine sees done and takes its
			// subscriber back.
			return
		}
		l.pass()
	}
}

// pass sends every viewer what is new for it.
func (l *fanLoop) pass() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.back = l.back[:0]
	for _, s := range l.subs {
		if err := s.drain(context.Background(), l.fan, now); err != nil {
			s.loopErr = err
			l.back = append(l.back, s)
		}
	}
	l.ctr.fanout(l.fan.Flush())
	for i, s := range l.back {
		l.drop(s)
		s.notify()
		l.back[i] = nil
	}
}

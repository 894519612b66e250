package flv

import (
	"slices"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

// A gig's stream is often replaced within seconds by a new one: the
// creator's encoder reconnects, or an edge's relayed copy switches to a new
// origin. The viewers of the ended stream keep their connections for
// ReconnectGrace and move on to the new stream's feed, on one continuous
// timeline: a moved viewer gets the new sequence headers, starts at a
// keyframe, and its tag timestamps go on from the last tag it got, because
// players (flv.js, mpegts.js, ffmpeg) expect them never to go back.

// resumePoint is where moved viewers' timeline goes on: the first new tag at
// next (one frame interval after the last tag sent), none below floor.
type resumePoint struct{ next, floor time.Duration }

// defaultStep is the frame interval assumed before any was measured.
const defaultStep = 33 * time.Millisecond

// onRegistryEvent runs on the publisher's goroutine: it only wakes the
// feeds that wait for a gig's next stream.
func (h *Handler) onRegistryEvent(ev media.Event) {
	if ev.Type != media.Published {
		return
	}
	h.pubMu.Lock()
	close(h.published)
	h.published = make(chan struct{})
	h.pubMu.Unlock()
}

func (h *Handler) nextPublish() <-chan struct{} {
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	return h.published
}

// awaitStream keeps the viewers of f, whose stream ended, for up to
// ReconnectGrace and moves them to the gig's next stream. It reports false
// when they must end: no stream came, or the handler closes.
func (h *Handler) awaitStream(f *feed) bool {
	grace := h.cfg.ReconnectGrace
	if grace < 0 {
		return false
	}
	f.flushAll() // no video comes to carry the held audio
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for {
		woken := h.nextPublish() // before looking: a Publish in between wakes us
		if moved, over := h.tryMove(f); over {
			return moved
		}
		select {
		case <-woken:
		case <-timer.C:
			return false
		case <-h.done:
			return false
		}
	}
}

// tryMove moves f's viewers to the gig's live stream if it has a new one.
// over reports that waiting is over: moved, or the handler closed (moved
// false), or no viewer is left (moved true: nobody to end).
func (h *Handler) tryMove(f *feed) (moved, over bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, true
	}
	if f.count() == 0 {
		return true, true
	}
	s, ok := h.reg.Get(f.stream.GigID())
	if !ok || s == f.stream || s.Closed() {
		return false, false
	}
	from := f.resumePoint()
	nf := h.feeds[s]
	if nf == nil {
		var err error
		if nf, err = h.newFeedLocked(s, &from); err != nil {
			return false, false // it ended meanwhile: wait for the next one
		}
	} else {
		nf.continueAfter(from)
	}
	vs := f.handOver()
	for _, v := range vs {
		v.feed = nf
		v.stream.Store(s) // the viewer's goroutine moves its count
		nf.adopt(v)
	}
	h.log.Info("flv viewers continue on the gig's new stream", "gig", s.GigID(), "viewers", len(vs), "source", s.Source())
	return true, true
}

// flushAll sends the audio held for a video frame that will not come.
func (f *feed) flushAll() {
	f.stopHold()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.viewers.Load() {
		v.flush()
	}
}

func (f *feed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.viewers.Len()
}

// handOver removes and returns every viewer.
func (f *feed) handOver() []*viewer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.viewers.Clear()
}

// resumePoint is where the timeline of f's viewers goes on: every tag they
// got is at most lastTS.
func (f *feed) resumePoint() resumePoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	step := defaultStep
	if n := min(f.nGaps, len(f.gaps)); n > 0 {
		gaps := slices.Clone(f.gaps[:n])
		slices.Sort(gaps)
		step = max(gaps[n/2], time.Millisecond)
	}
	return resumePoint{next: f.lastTS + step, floor: f.lastTS + time.Millisecond}
}

// continueAfter makes an existing feed fit viewers moving in from p: its
// next tags, sequence headers and cached GOP must not be older than p. It
// only matters when a new viewer reached the new stream before the moved
// ones; the feed's own viewers may then see its timestamps jump ahead.
func (f *feed) continueAfter(p resumePoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.floor = max(f.floor, p.floor)
	switch {
	case !f.started:
		f.resume, f.next = true, max(f.next, p.next)
	case f.lastTS < p.next:
		f.shift += p.next - f.lastTS
	}
	f.lastTS = max(f.lastTS, p.next)
	if f.key != nil && f.keyTS < p.floor {
		f.key = nil // moved viewers start at the next keyframe
	}
	f.dropCatchUpLocked() // built on the old timeline
	if f.video != nil {
		f.avcHdr = avcSequenceHeaderTag(f.video.H264, f.lastTS)
	}
	if f.audio != nil {
		f.aacHdr = aacSequenceHeaderTag(f.audio.AAC, f.lastTS)
	}
}

// adopt adds a viewer moving in from the gig's ended stream: it gets the
// sequence headers, then the cached GOP, else waits for a keyframe. Like
// join, it holds the feed's lock for one viewer at a time.
func (f *feed) adopt(v *viewer) {
	f.catchUp(func(gop []*tag, gopOK bool) {
		tags := make([]*tag, 0, 2+len(gop))
		for _, t := range []*tag{f.avcHdr, f.aacHdr} {
			if t != nil {
				tags = append(tags, t)
			}
		}
		tags = append(tags, gop...)
		v.rejoin(tags, gopOK, f.video != nil, f.audio != nil)
		f.viewers.Add(v)
	})
}

// rejoin queues the first tags of the viewer's new stream after what it
// still has to write of the old one, growing the ring to fit them. Until
// the new stream has tracks, the viewer expects the old one's.
func (v *viewer) rejoin(tags []*tag, gopOK, video, audio bool) {
	v.mu.Lock()
	if v.ended {
		v.mu.Unlock()
		return
	}
	if need := v.n + len(tags) + 64; need > len(v.ring) {
		ring := make([]*tag, need)
		for i := range v.n {
			ring[i] = v.ring[(v.head+i)%len(v.ring)]
		}
		v.ring, v.head = ring, 0
	}
	if video || audio {
		v.hasVideo = video // an audio-only stream must not wait for a keyframe
	}
	v.skipping = v.hasVideo && !gopOK
	for _, t := range tags {
		v.ring[(v.head+v.n)%len(v.ring)] = t
		v.n++
	}
	signal := v.dueLocked()
	v.mu.Unlock()
	if signal {
		v.signal()
	}
}

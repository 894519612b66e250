package flv

import (
	"slices"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/cow"
	"github.com/bookmygig/bookmygig/media"
)

// audioHoldMax is how long audio may wait for the next video frame to carry
// it before it is sent on its own (video gaps, a stalled video encoder).
// At 30 fps the next frame is at most 33 ms away, so the cap rarely fires;
// at lower frame rates it bounds the extra audio delay.
const audioHoldMax = 40 * time.Millisecond

// feed is the one media.Reader per stream: it turns every frame into an FLV
// tag once and hands the same tag to every viewer's queue. It also keeps the
// sequence headers and the tags of the current GOP so a new viewer starts
// with a decodable picture.
type feed struct {
	stream *media.Stream
	cfg    *Config
	ctr    *counters
	detach func()
	quit   chan struct{}

	mu     sync.Mutex
	video  *media.Track
	audio  *media.Track
	meta   *tag
	avcHdr *tag
	aacHdr *tag
	// lastTS is the latest tag timestamp sent (the feed's own timeline,
	// which shift may move away from the stream's DTS).
	lastTS time.Duration
	// A feed that continues its viewers' timeline from an ended stream of
	// the gig (see reconnect.go) moves the stream's DTS by shift, fixed at
	// its first frame so that it lands on next; no tag goes below floor.
	shift, next, floor time.Duration
	resume, started    bool

	gop      []*tag
	gopBytes int
	gopOK    bool // gop starts with a keyframe and is complete
	// Frame rate estimate for onMetaData, from video DTS.
	firstDTS, lastDTS time.Duration
	nVideo            int
	// the latest video frame intervals, for the frame rate estimate
	gaps    [64]time.Duration
	nGaps   int
	metaFPS float64
	viewers cow.List[*viewer]
	// holding is set while audio sits in the viewers' queues waiting for a
	// video frame; hold flushes it after audioHoldMax (one timer per
	// stream, not per viewer).
	holding bool
	hold    *time.Timer
}

var _ media.Reader = (*feed)(nil)

// OnTrack is called on the stream's writer goroutine.
func (f *feed) OnTrack(t *media.Track) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hdr *tag
	switch {
	case t.Codec == media.CodecH264 && t.H264 != nil:
		f.video = t
		f.avcHdr = avcSequenceHeaderTag(t.H264, f.lastTS)
		hdr = f.avcHdr
		// Cached frames were coded with the old parameters.
		f.resetGOPLocked()
	case t.Codec == media.CodecAAC && t.AAC != nil:
		f.audio = t
		f.aacHdr = aacSequenceHeaderTag(t.AAC, f.lastTS)
		hdr = f.aacHdr
	default:
		return // Opus and VP8 do not fit in FLV
	}
	// Never call back into the stream here: it is locked.
	f.meta, f.metaFPS = metadataTag(f.video, f.audio, f.fpsLocked()), f.fpsLocked()
	for _, v := range f.viewers.Load() {
		v.push(hdr)
	}
}

// OnFrame is called on the stream's writer goroutine: one tag build, then a
// non-blocking push per viewer.
func (f *feed) OnFrame(fr *media.Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var t *tag
	switch {
	case fr.Codec == media.CodecH264 && f.video != nil:
		t = videoTagFromFrame(fr, f.tsLocked(fr.DTS))
		if f.nVideo == 0 {
			f.firstDTS = fr.DTS
		} else if d := fr.DTS - f.lastDTS; d > 0 {
			f.gaps[f.nGaps%len(f.gaps)] = d
			f.nGaps++
		}
		f.nVideo++
		f.lastDTS = fr.DTS
	case fr.Codec == media.CodecAAC && f.audio != nil:
		t = audioTagFromFrame(fr, f.tsLocked(fr.DTS))
	default:
		return
	}
	f.cacheLocked(t)
	// Audio rides with the next video frame (audio-only streams send it at
	// once): about half the writes per viewer, for at most one frame
	// interval, and never more than audioHoldMax, of extra audio delay.
	wake := t.kind != kindAudio || f.video == nil
	switch {
	case wake && f.holding:
		f.holding = false
		f.hold.Stop()
	case !wake && !f.holding:
		f.holding = true
		if f.hold == nil {
			f.hold = time.AfterFunc(audioHoldMax, f.flushHeld)
		} else {
			f.hold.Reset(audioHoldMax)
		}
	}
	for _, v := range f.viewers.Load() {
		v.enqueue(t, wake)
	}
}

// flushHeld runs on the hold timer: no video frame came within
// audioHoldMax, so the held audio goes out on its own.
func (f *feed) flushHeld() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.holding {
		return // a video frame took the audio along meanwhile
	}
	// A run that lost the race to a video frame and finds newer audio held
	// sends it early: one extra write, never a late one.
	f.holding = false
	for _, v := range f.viewers.Load() {
		v.flush()
	}
}

// stopHold stops the hold timer once the feed is detached or its stream
// ended.
func (f *feed) stopHold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holding = false
	if f.hold != nil {
		f.hold.Stop()
	}
}

// tsLocked maps a frame's DTS to its tag timestamp and advances lastTS.
func (f *feed) tsLocked(dts time.Duration) time.Duration {
	if !f.started {
		f.started = true
		if f.resume {
			f.shift = f.next - dts
		}
	}
	ts := max(dts+f.shift, f.floor)
	f.lastTS = max(f.lastTS, ts)
	return ts
}

func (f *feed) cacheLocked(t *tag) {
	if f.video == nil {
		return // audio-only: any tag is a starting point
	}
	if t.key {
		f.resetGOPLocked()
		f.gopOK = true
	}
	if !f.gopOK {
		return
	}
	if f.gopBytes+t.size() > f.cfg.GOPMaxBytes {
		f.resetGOPLocked()
		return
	}
	f.gop = append(f.gop, t)
	f.gopBytes += t.size()
}

func (f *feed) resetGOPLocked() {
	clear(f.gop)
	f.gop = f.gop[:0]
	f.gopBytes = 0
	f.gopOK = false
}

// join adds a viewer, queued with the metadata, the sequence headers and the
// cached GOP. It returns the viewer and the FLV file header flags.
func (f *feed) join() (v *viewer, hasAudio, hasVideo bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hasVideo, hasAudio = f.video != nil, f.audio != nil
	if fps := f.fpsLocked(); f.metaFPS == 0 && fps > 0 {
		f.meta, f.metaFPS = metadataTag(f.video, f.audio, fps), fps
	}
	initial := make([]*tag, 0, 3+len(f.gop))
	for _, t := range []*tag{f.meta, f.avcHdr, f.aacHdr} {
		if t != nil {
			initial = append(initial, t)
		}
	}
	initial = append(initial, f.gop...)
	capacity := f.cfg.QueueTags
	if len(initial)+64 > capacity {
		capacity = len(initial) + 64
	}
	v = newViewer(capacity, hasVideo)
	v.ctr = f.ctr
	for _, t := range initial {
		v.push(t)
	}
	if hasVideo && !f.gopOK {
		v.skipping = true // wait for the next keyframe
	}
	f.viewers.Add(v)
	return v, hasAudio, hasVideo
}

// leave removes v and returns how many viewers remain.
func (f *feed) leave(v *viewer) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.viewers.Remove(v)
}

// endAll finishes every viewer (drain, then end cleanly) or aborts them.
func (f *feed) endAll(abort bool) {
	f.stopHold() // finishing drains the held audio too
	f.mu.Lock()
	vs := f.viewers.Load()
	f.mu.Unlock()
	for _, v := range vs {
		v.finish(abort)
	}
}

// fpsLocked estimates the frame rate once a second of video has been seen,
// from the latest frame intervals without the gaps: frames lost on the way
// (a WHIP publisher's network) must not lower it, or players that trust
// onMetaData's framerate (ffmpeg) pick a time base that repeats timestamps.
func (f *feed) fpsLocked() float64 {
	n := min(f.nGaps, len(f.gaps))
	if f.nVideo < 10 || f.lastDTS-f.firstDTS < time.Second || n < 9 {
		return 0
	}
	gaps := slices.Clone(f.gaps[:n])
	slices.Sort(gaps)
	median := gaps[n/2]
	var sum time.Duration
	var count int
	for _, g := range gaps {
		if g <= median+median/2 {
			sum += g
			count++
		}
	}
	fps := float64(count) / sum.Seconds()
	return float64(int(fps*100+0.5)) / 100
}

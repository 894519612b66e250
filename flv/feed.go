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
// tag once and hands the same tag to every viewer's queue. It keeps the
// sequence headers; a new viewer's catch-up (a decodable picture at once) is
// built from the stream's GOP, which media owns (see catchUpLocked).
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

	// key is the last H.264 keyframe sent live, at keyTS, while viewers may
	// still start from it: the stream's GOP is a catch-up for this feed only
	// while it begins with key. nil after a track change (the GOP was coded
	// with the old parameters) or when moved viewers' timeline passed it.
	key   *media.Frame
	keyTS time.Duration
	// cuFrames and cuTags memoize the catch-up tags built from the stream's
	// GOP for the last viewer that joined, so viewers joining together share
	// them like live tags. The memo follows media's GOP (the frames it was
	// built from), is extended only when a viewer joins, and is dropped at
	// the next keyframe: it never decides where a GOP starts.
	cuFrames []*media.Frame
	cuTags   []*tag
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
		// The cached GOP was coded with the old parameters.
		f.key = nil
		f.dropCatchUpLocked()
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
	if !f.carriesLocked(fr) {
		return
	}
	t := tagFromFrame(fr, f.tsLocked(fr.DTS))
	if fr.Codec == media.CodecH264 {
		if f.nVideo == 0 {
			f.firstDTS = fr.DTS
		} else if d := fr.DTS - f.lastDTS; d > 0 {
			f.gaps[f.nGaps%len(f.gaps)] = d
			f.nGaps++
		}
		f.nVideo++
		f.lastDTS = fr.DTS
		if fr.Keyframe {
			f.key, f.keyTS = fr, t.ts()
			f.dropCatchUpLocked()
		}
	}
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

// carriesLocked reports whether fr goes out as a tag: H.264 and AAC once
// their track is known (Opus and VP8 do not fit in FLV).
func (f *feed) carriesLocked(fr *media.Frame) bool {
	return fr.Codec == media.CodecH264 && f.video != nil || fr.Codec == media.CodecAAC && f.audio != nil
}

// catchUpLocked makes the memo cover gop, a snapshot of the stream's GOP,
// building only the frames it lacks. It is false when gop is no start for
// this feed's viewers (audio only, no GOP cached, or not the keyframe they
// may start from): they wait for the next keyframe.
func (f *feed) catchUpLocked(gop []*media.Frame) bool {
	if f.video == nil || len(gop) == 0 || gop[0] != f.key {
		return false
	}
	// The memo starts at key (it is dropped whenever key changes) and media
	// only appends to a GOP: the memo is a prefix of gop, or gop is an older
	// snapshot than the one the memo was last built from.
	for _, fr := range gop[min(len(f.cuFrames), len(gop)):] {
		if f.carriesLocked(fr) {
			// The feed's timeline as it is now; it only moves for viewers
			// moving in (continueAfter), which drops the memo.
			f.cuTags = append(f.cuTags, tagFromFrame(fr, max(fr.DTS+f.shift, f.floor)))
		}
		f.cuFrames = append(f.cuFrames, fr)
	}
	return true
}

func (f *feed) dropCatchUpLocked() {
	clear(f.cuFrames)
	clear(f.cuTags)
	f.cuFrames, f.cuTags = f.cuFrames[:0], f.cuTags[:0]
}

// catchUp calls add, with the feed locked and no frame written meanwhile,
// with the catch-up tags of a viewer starting now (the stream's GOP), so add
// can queue them and the viewer with no gap or duplicate before the live
// tags. ok false: no catch-up, the viewer waits for the next keyframe. The
// tags are built outside the stream's lock first, so a joining viewer holds
// up the publisher only for the frames written meanwhile.
func (f *feed) catchUp(add func(tags []*tag, ok bool)) {
	gop := f.stream.GOP()
	f.mu.Lock()
	f.catchUpLocked(gop)
	f.mu.Unlock()
	f.stream.ReadGOP(func(gop []*media.Frame) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.catchUpLocked(gop) {
			add(nil, false)
			return
		}
		add(f.cuTags, true) // gop is current: the memo is exactly its tags
	})
}

// join adds a viewer, queued with the metadata, the sequence headers and the
// cached GOP. It returns the viewer and the FLV file header flags.
func (f *feed) join() (v *viewer, hasAudio, hasVideo bool) {
	f.catchUp(func(gop []*tag, gopOK bool) {
		v, hasAudio, hasVideo = f.joinLocked(gop, gopOK)
	})
	return v, hasAudio, hasVideo
}

func (f *feed) joinLocked(gop []*tag, gopOK bool) (v *viewer, hasAudio, hasVideo bool) {
	hasVideo, hasAudio = f.video != nil, f.audio != nil
	if fps := f.fpsLocked(); f.metaFPS == 0 && fps > 0 {
		f.meta, f.metaFPS = metadataTag(f.video, f.audio, fps), fps
	}
	initial := make([]*tag, 0, 3+len(gop))
	for _, t := range []*tag{f.meta, f.avcHdr, f.aacHdr} {
		if t != nil {
			initial = append(initial, t)
		}
	}
	initial = append(initial, gop...)
	capacity := f.cfg.QueueTags
	if len(initial)+64 > capacity {
		capacity = len(initial) + 64
	}
	v = newViewer(capacity, hasVideo)
	v.ctr = f.ctr
	for _, t := range initial {
		v.push(t)
	}
	if hasVideo && !gopOK {
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

package flv

import (
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

// resumedFeed is a feed created the way newFeedLocked creates one for
// viewers moving in from p, before the stream replays its tracks.
func resumedFeed(p resumePoint) *feed {
	cfg := Config{}.withDefaults()
	f := &feed{cfg: &cfg, ctr: &counters{}, stream: media.NewStream(media.StreamConfig{}, nil)}
	f.resume, f.next, f.floor, f.lastTS = true, p.next, p.floor, p.next
	attachTestTracks(f, true)
	return f
}

// endedFeed plays 3 s of 30 fps video and returns the feed with a viewer
// that took everything.
func endedFeed(t *testing.T) (*feed, *viewer) {
	t.Helper()
	f := testFeed(true)
	t.Cleanup(f.stopHold)
	put(f, videoFrame(0, true))
	v, _, _ := f.join()
	for i := 1; i <= 90; i++ {
		put(f, audioFrame(i*1000/30-5))
		put(f, videoFrame(i*1000/30, false))
	}
	f.flushAll()
	drain(t, v)
	return f, v
}

func checkMove(t *testing.T, got []*tag, after time.Duration, wantFirst time.Duration) {
	t.Helper()
	if len(got) < 3 || got[0].kind != kindHeader || got[1].kind != kindHeader {
		t.Fatalf("moved viewer got %d tags, want the sequence headers first", len(got))
	}
	last := map[tagKind]time.Duration{kindHeader: after, kindVideo: after, kindAudio: after}
	firstVideo := true
	for i, tg := range got {
		if tg.ts() < last[tg.kind] || tg.ts() <= after {
			t.Fatalf("tag %d (kind %d) at %v after %v", i, tg.kind, tg.ts(), last[tg.kind])
		}
		last[tg.kind] = tg.ts()
		if tg.kind == kindVideo && firstVideo {
			firstVideo = false
			if !tg.key {
				t.Fatal("first video after the move is not a keyframe")
			}
			if tg.ts() != wantFirst {
				t.Fatalf("first video at %v, want %v", tg.ts(), wantFirst)
			}
		}
	}
	if firstVideo {
		t.Fatal("no video after the move")
	}
}

// Viewers moving to a new stream (whose DTS start again at 0) go on one
// frame interval after the last tag they got.
func TestMovedViewerContinuesTimeline(t *testing.T) {
	old, v := endedFeed(t)
	p := old.resumePoint()
	if p.next != 3033*time.Millisecond || p.floor != 3001*time.Millisecond {
		t.Fatalf("resume point %+v", p)
	}
	old.handOver()
	f := resumedFeed(p)
	defer f.stopHold()
	put(f, videoFrame(0, true)) // the new stream begins its GOP
	put(f, audioFrame(-10))     // audio a little before the keyframe
	put(f, videoFrame(33, false))
	f.adopt(v)
	checkMove(t, drain(t, v), 3000*time.Millisecond, 3033*time.Millisecond)
}

// A feed that already plays the new stream to a fresh viewer jumps ahead
// so that moved viewers never go back; they start at its next keyframe.
func TestExistingFeedMakesRoomForMovedViewers(t *testing.T) {
	old, v := endedFeed(t)
	p := old.resumePoint()
	f, fresh := watching(t) // at DTS 0: behind the moved viewers
	put(f, videoFrame(33, false))
	drain(t, fresh)
	f.continueAfter(p)
	f.adopt(v)
	if got := drain(t, v); len(got) != 2 || got[0].ts() != p.next || got[1].ts() != p.next {
		t.Fatalf("moved viewer got %d tags first, want the 2 sequence headers at %v", len(got), p.next)
	}
	put(f, videoFrame(66, false)) // not a keyframe: skipped by the moved viewer
	put(f, videoFrame(100, true))
	got := drain(t, v)
	if len(got) != 1 || !got[0].key || got[0].ts() <= p.next {
		t.Fatalf("moved viewer got %d tags, want the keyframe after %v", len(got), p.next)
	}
	for _, tg := range drain(t, fresh) {
		if tg.ts() < 33*time.Millisecond {
			t.Fatalf("fresh viewer went back to %v", tg.ts())
		}
	}
}

// A viewer moved while it still has tags of the old stream to write sends
// them first, then the new stream's, even past its queue's capacity.
func TestRejoinKeepsQueuedTagsAndGrows(t *testing.T) {
	v := newViewer(4, true)
	for i := range 3 {
		v.push(mk(kindVideo, i == 0, i*33))
	}
	tags := []*tag{mk(kindHeader, false, 200), mk(kindVideo, true, 233), mk(kindVideo, false, 266)}
	v.rejoin(tags, true, true, true)
	got := drain(t, v)
	if len(got) != 6 {
		t.Fatalf("got %d tags, want 6", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].ts() < got[i-1].ts() {
			t.Fatalf("tag %d at %v after %v", i, got[i].ts(), got[i-1].ts())
		}
	}
}

package flv

import (
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

// testFeed is a feed attached to a new stream with an AAC track, and an
// H.264 track if video; frames go in with put, through the stream (which
// owns the GOP new viewers catch up from).
func testFeed(video bool) *feed { return testFeedOn(media.StreamConfig{}, video) }

func testFeedOn(sc media.StreamConfig, video bool) *feed {
	cfg := Config{}.withDefaults()
	f := &feed{cfg: &cfg, ctr: &counters{}, stream: media.NewStream(sc, nil)}
	attachTestTracks(f, video)
	return f
}

func attachTestTracks(f *feed, video bool) {
	if video {
		f.stream.SetTrack(&media.Track{Codec: media.CodecH264, H264: &media.H264Config{Record: []byte{1, 0x64, 0, 0x1f, 0xff}, Width: 640, Height: 360}})
	}
	f.stream.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: &media.AACConfig{Raw: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 2}, SampleRate: 48000, Channels: 2})
	if _, err := f.stream.Attach(f, true); err != nil {
		panic(err)
	}
}

// put writes fr to the feed's stream, as the publisher does.
func put(f *feed, fr *media.Frame) {
	if err := f.stream.WriteFrame(fr); err != nil {
		panic(err)
	}
}

func audioFrame(ms int) *media.Frame {
	return &media.Frame{Codec: media.CodecAAC, DTS: time.Duration(ms) * time.Millisecond, Data: []byte{1, 2, 3}}
}

func videoFrame(ms int, key bool) *media.Frame {
	nalu := byte(0x41) // a P slice
	if key {
		nalu = 0x65 // an IDR slice
	}
	return &media.Frame{Codec: media.CodecH264, DTS: time.Duration(ms) * time.Millisecond, Keyframe: key, Data: []byte{0, 0, 0, 1, nalu}}
}

// drain takes what the viewer has queued (the join burst).
func drain(t *testing.T, v *viewer) []*tag {
	t.Helper()
	got, ended, _ := v.take(nil)
	if ended {
		t.Fatal("viewer ended")
	}
	return got
}

// waitTake waits for the viewer's wake, as its goroutine does, and takes.
func waitTake(t *testing.T, v *viewer, within time.Duration) []*tag {
	t.Helper()
	select {
	case <-v.wake:
	case <-time.After(within):
		t.Fatalf("viewer not woken within %v", within)
	}
	return drain(t, v)
}

// watching returns a feed of an audio+video stream past its first keyframe
// and one viewer that has taken its join burst.
func watching(t *testing.T) (*feed, *viewer) {
	t.Helper()
	f := testFeed(true)
	t.Cleanup(f.stopHold)
	put(f, videoFrame(0, true))
	v, _, _ := f.join()
	drain(t, v)
	return f, v
}

// With video present, audio waits for the next video frame and both leave
// in one batch.
func TestFeedAudioRidesWithVideo(t *testing.T) {
	f, v := watching(t)
	put(f, audioFrame(10))
	if got := drain(t, v); len(got) != 0 {
		t.Fatalf("audio went out alone (%d tags) with a video frame due", len(got))
	}
	put(f, videoFrame(33, false))
	got := waitTake(t, v, time.Second)
	if len(got) != 2 || got[0].kind != kindAudio || got[1].kind != kindVideo {
		t.Fatalf("batch has %d tags, want the audio then the video", len(got))
	}
}

// When video stops (a stalled encoder, a video gap) the held audio still
// plays: the hold timer sends it on its own.
func TestFeedHeldAudioFlowsWithoutVideo(t *testing.T) {
	f, v := watching(t)
	for i := 0; i < 3; i++ {
		put(f, audioFrame(10+21*i))
		if i == 0 {
			_ = drain(t, v) // the goroutine goes to sleep on wake
		}
		got := waitTake(t, v, 2*time.Second)
		if len(got) != 1 || got[0].kind != kindAudio {
			t.Fatalf("round %d: got %d tags, want the held audio", i, len(got))
		}
		_ = drain(t, v) // asleep again
	}
}

// An audio-only stream has no video to ride with: every audio frame wakes
// its viewers at once.
func TestFeedAudioOnlyIsNotHeld(t *testing.T) {
	f := testFeed(false)
	defer f.stopHold()
	v, hasAudio, hasVideo := f.join()
	if !hasAudio || hasVideo {
		t.Fatalf("join: audio %v video %v", hasAudio, hasVideo)
	}
	drain(t, v)
	drain(t, v) // asleep
	put(f, audioFrame(0))
	select {
	case <-v.wake:
	default:
		t.Fatal("audio-only frame did not wake the viewer")
	}
	if got := drain(t, v); len(got) != 1 || got[0].kind != kindAudio {
		t.Fatalf("got %d tags", len(got))
	}
}

// onMetaData's framerate is the stream's rate even when frames are lost on
// the way (a WHIP publisher's network): ffmpeg takes its time base from it.
func TestFrameRateIgnoresLostFrames(t *testing.T) {
	for name, lose := range map[string]func(i int) bool{
		"none":        func(int) bool { return false },
		"every third": func(i int) bool { return i%3 == 2 },
	} {
		f := testFeed(true)
		for i := range 90 { // 3 s at 30 fps, DTS in whole ms as FLV has them
			if !lose(i) {
				put(f, videoFrame(i*1000/30, i == 0))
			}
		}
		f.mu.Lock()
		fps := f.fpsLocked()
		f.mu.Unlock()
		if fps < 29.5 || fps > 30.5 {
			t.Errorf("%s lost: framerate %.2f, want 30", name, fps)
		}
	}
}

// A viewer joining mid-GOP replays the stream's GOP (media's cache) as
// tags, then gets live tags with no gap or duplicate; viewers joining
// together share the catch-up tags; a GOP the stream did not cache (over
// its GOPMaxBytes) makes the viewer wait for the next keyframe.
func TestJoinCatchesUpFromStreamGOP(t *testing.T) {
	f := testFeed(true)
	defer f.stopHold()
	put(f, videoFrame(0, false)) // before any keyframe: no catch-up
	put(f, videoFrame(33, true))
	put(f, audioFrame(40))
	put(f, videoFrame(66, false))
	v1, _, _ := f.join()
	v2, _, _ := f.join()
	got1, got2 := drain(t, v1), drain(t, v2)
	// onMetaData, the two sequence headers, then the GOP.
	if len(got1) != 6 || len(got2) != 6 {
		t.Fatalf("join burst of %d and %d tags, want 6", len(got1), len(got2))
	}
	want := []time.Duration{33, 40, 66}
	for i, tg := range got1[3:] {
		if tg.ts() != want[i]*time.Millisecond || tg.kind == kindVideo && tg.key != (i == 0) {
			t.Fatalf("catch-up tag %d at %v key %v, want %v ms", i, tg.ts(), tg.key, want[i])
		}
		if got2[3+i] != tg {
			t.Fatalf("catch-up tag %d built twice", i)
		}
	}
	put(f, videoFrame(100, false))
	if got := drain(t, v1); len(got) != 1 || got[0].ts() != 100*time.Millisecond {
		t.Fatalf("live after catch-up: %d tags", len(got))
	}

	big := testFeedOn(media.StreamConfig{GOPMaxBytes: 8}, true)
	defer big.stopHold()
	put(big, videoFrame(0, true))
	put(big, &media.Frame{Codec: media.CodecH264, DTS: 33 * time.Millisecond, Data: make([]byte, 16)})
	v, _, _ := big.join()
	if got := drain(t, v); len(got) != 3 {
		t.Fatalf("join burst of %d tags with no GOP cached, want the 3 headers", len(got))
	}
	put(big, videoFrame(66, false))
	put(big, videoFrame(100, true))
	if got := drain(t, v); len(got) != 1 || !got[0].key {
		t.Fatalf("got %d tags, want only the next keyframe", len(got))
	}
}

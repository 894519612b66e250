package flv

import (
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

func testFeed(video bool) *feed {
	cfg := Config{}.withDefaults()
	f := &feed{cfg: &cfg, ctr: &counters{}}
	if video {
		f.OnTrack(&media.Track{Codec: media.CodecH264, H264: &media.H264Config{Record: []byte{1, 0x64, 0, 0x1f, 0xff}, Width: 640, Height: 360}})
	}
	f.OnTrack(&media.Track{Codec: media.CodecAAC, AAC: &media.AACConfig{Raw: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 2}, SampleRate: 48000, Channels: 2})
	return f
}

func audioFrame(ms int) *media.Frame {
	return &media.Frame{Codec: media.CodecAAC, DTS: time.Duration(ms) * time.Millisecond, Data: []byte{1, 2, 3}}
}

func videoFrame(ms int, key bool) *media.Frame {
	return &media.Frame{Codec: media.CodecH264, DTS: time.Duration(ms) * time.Millisecond, Keyframe: key, Data: []byte{0, 0, 0, 1, 0x65}}
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
	f.OnFrame(videoFrame(0, true))
	v, _, _ := f.join()
	drain(t, v)
	return f, v
}

// With video present, audio waits for the next video frame and both leave
// in one batch.
func TestFeedAudioRidesWithVideo(t *testing.T) {
	f, v := watching(t)
	f.OnFrame(audioFrame(10))
	if got := drain(t, v); len(got) != 0 {
		t.Fatalf("audio went out alone (%d tags) with a video frame due", len(got))
	}
	f.OnFrame(videoFrame(33, false))
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
		f.OnFrame(audioFrame(10 + 21*i))
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
	f.OnFrame(audioFrame(0))
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
				f.OnFrame(videoFrame(i*1000/30, i == 0))
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

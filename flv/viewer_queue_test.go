package flv

import (
	"testing"
	"time"
)

func mk(kind tagKind, key bool, ms int) *tag {
	t, _ := newTag(tagTypeVideo, time.Duration(ms)*time.Millisecond, 1, kind, key)
	return t
}

func TestViewerQueueSkipsToNextKeyframeWhenFull(t *testing.T) {
	v := newViewer(4, true)
	hdr := mk(kindHeader, false, 0)
	v.push(hdr)
	v.push(mk(kindVideo, true, 0))
	v.push(mk(kindAudio, false, 10))
	v.push(mk(kindVideo, false, 33))
	// Full: the next push drops queued media, keeps the header, and skips
	// everything until a keyframe.
	v.push(mk(kindVideo, false, 66))
	v.push(mk(kindAudio, false, 70))
	newHdr := mk(kindHeader, false, 80)
	v.push(newHdr)
	key := mk(kindVideo, true, 100)
	v.push(key)
	after := mk(kindAudio, false, 110)
	v.push(after)
	got, ended, _ := v.take(nil)
	if ended {
		t.Fatal("ended")
	}
	want := []*tag{hdr, newHdr, key, after}
	if len(got) != len(want) {
		t.Fatalf("queue has %d tags, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tag %d is not the expected one", i)
		}
	}
	if v.skipCount() != 1 {
		t.Fatalf("skips = %d", v.skipCount())
	}
}

func TestViewerQueueAudioOnlyResumesOnAnyAudio(t *testing.T) {
	v := newViewer(2, false)
	v.push(mk(kindAudio, false, 0))
	v.push(mk(kindAudio, false, 21))
	a := mk(kindAudio, false, 42)
	v.push(a)
	got, _, _ := v.take(nil)
	if len(got) != 1 || got[0] != a {
		t.Fatalf("got %d tags", len(got))
	}
}

func TestViewerEndDrainsThenEnds(t *testing.T) {
	v := newViewer(4, true)
	v.push(mk(kindVideo, true, 0))
	v.end()
	v.push(mk(kindVideo, false, 33)) // after end: ignored
	got, ended, _ := v.take(nil)
	if len(got) != 1 || ended {
		t.Fatalf("first take: %d tags, ended %v", len(got), ended)
	}
	got, ended, _ = v.take(got[:0])
	if len(got) != 0 || !ended {
		t.Fatalf("second take: %d tags, ended %v", len(got), ended)
	}
}

func TestPushNeverBlocksOnASleepingViewer(t *testing.T) {
	v := newViewer(8, true)
	_, _, _ = v.take(nil) // arms the wake
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			v.push(mk(kindVideo, i%60 == 0, i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("push blocked")
	}
}

// Audio queued without a wake rides with the next woken tag: the viewer's
// goroutine neither wakes for it nor writes it alone, and order is kept.
func TestViewerHeldAudioRidesWithNextVideo(t *testing.T) {
	v := newViewer(8, true)
	v.push(mk(kindVideo, true, 0))
	if got, _, _ := v.take(nil); len(got) != 1 {
		t.Fatalf("first take: %d tags", len(got))
	}
	a1, a2 := mk(kindAudio, false, 5), mk(kindAudio, false, 26)
	v.enqueue(a1, false)
	v.enqueue(a2, false)
	if got, ended, _ := v.take(nil); len(got) != 0 || ended {
		t.Fatalf("held audio was taken alone: %d tags, ended %v", len(got), ended)
	}
	select {
	case <-v.wake:
		t.Fatal("held audio woke the viewer")
	default:
	}
	vid := mk(kindVideo, false, 33)
	v.push(vid)
	select {
	case <-v.wake:
	default:
		t.Fatal("video did not wake the viewer")
	}
	got, _, _ := v.take(nil)
	want := []*tag{a1, a2, vid}
	if len(got) != len(want) {
		t.Fatalf("took %d tags, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tag %d out of order", i)
		}
	}
}

func TestViewerFlushSendsHeldAudio(t *testing.T) {
	v := newViewer(8, true)
	_, _, _ = v.take(nil) // the goroutine goes to sleep
	a := mk(kindAudio, false, 5)
	v.enqueue(a, false)
	v.flush()
	select {
	case <-v.wake:
	default:
		t.Fatal("flush did not wake the viewer")
	}
	if got, _, _ := v.take(nil); len(got) != 1 || got[0] != a {
		t.Fatalf("after flush took %d tags", len(got))
	}
	v.flush() // nothing held: no wake
	select {
	case <-v.wake:
		t.Fatal("empty flush woke the viewer")
	default:
	}
}

func TestViewerEndDrainsHeldAudio(t *testing.T) {
	v := newViewer(8, true)
	a := mk(kindAudio, false, 5)
	v.enqueue(a, false)
	v.end()
	got, ended, _ := v.take(nil)
	if len(got) != 1 || got[0] != a || ended {
		t.Fatalf("take after end: %d tags, ended %v", len(got), ended)
	}
	if _, ended, _ = v.take(got[:0]); !ended {
		t.Fatal("not ended after the drain")
	}
}

package media

import (
	"sync/atomic"
	"testing"
	"time"
)

type sinkRecorder struct {
	heads []bool
	srs   int
}

func (s *sinkRecorder) WriteRTP(p *RTPPacket) { s.heads = append(s.heads, p.KeyHead) }

func (s *sinkRecorder) SenderReport(bool, uint32, uint64) { s.srs++ }

func TestRTPFeedKeyHeadAndAttach(t *testing.T) {
	f := NewRTPFeed(RTPFeedConfig{Video: CodecH264})
	// No sink yet: packets go nowhere, but the keyframe is seen.
	f.Write(&RTPPacket{TS: 1, Key: true, Arrival: time.Now()})
	if f.KeyframeAge() > time.Second {
		t.Fatalf("keyframe age %v after a keyframe", f.KeyframeAge())
	}
	rec := &sinkRecorder{}
	detach := f.Attach(rec)
	now := time.Now()
	for _, p := range []RTPPacket{
		{TS: 2, Key: true, Arrival: now},              // SPS of a new keyframe: head
		{TS: 2, Key: true, Arrival: now},              // its IDR start: same access unit
		{TS: 2, Arrival: now},                         // rest
		{TS: 3, Arrival: now},                         // P frame
		{TS: 3, Audio: true, Key: true, Arrival: now}, // audio is never a head
		{TS: 4, Key: true, Arrival: now},              // next keyframe
	} {
		f.Write(&p)
	}
	f.SenderReport(false, 1, 2)
	want := []bool{true, false, false, false, false, true}
	if len(rec.heads) != len(want) || rec.srs != 1 {
		t.Fatalf("sink got %v and %d reports", rec.heads, rec.srs)
	}
	for i := range want {
		if rec.heads[i] != want[i] {
			t.Fatalf("key heads %v, want %v", rec.heads, want)
		}
	}
	detach()
	f.Write(&RTPPacket{TS: 5})
	if len(rec.heads) != len(want) {
		t.Fatal("a detached sink still got packets")
	}
}

func TestRTPFeedKeyframeRequestsThrottled(t *testing.T) {
	var asks atomic.Int32
	f := NewRTPFeed(RTPFeedConfig{Video: CodecH264, AskKeyframe: func() { asks.Add(1) }})
	for range 10 {
		f.RequestKeyframe()
	}
	if n := asks.Load(); n != 1 {
		t.Fatalf("%d requests at once, want 1", n)
	}
	// The held request goes at the window's end (no keyframe came).
	deadline := time.Now().Add(2 * keyframeInterval)
	for asks.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := asks.Load(); n != 2 || f.KeyframeRequests() != 2 {
		t.Fatalf("%d requests (%d counted) after the window, want 2", n, f.KeyframeRequests())
	}
}

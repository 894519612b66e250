//go:build cgo

package transcode

import (
	"testing"
	"time"
)

func TestMeterAddsUpTranscoders(t *testing.T) {
	var m Meter
	clip := ffmpegAAC(t, 48000, 2, 1, false)
	// One transcoder that keeps up and one whose 1-frame queue drops.
	a, _, _, _ := transcodeClip(t, clip, Config{QueueFrames: 4096, Meter: &m}, 0, 0)
	b, _, _, _ := transcodeClip(t, clip, Config{QueueFrames: 1, Meter: &m}, 0, 0)
	sa, sb := a.Stats(), b.Stats()
	got := m.Counters()
	d := got.AACToOpus
	if d.FramesIn != sa.FramesIn+sb.FramesIn || d.FramesOut != sa.FramesOut+sb.FramesOut || d.Dropped != sa.Dropped+sb.Dropped {
		t.Fatalf("meter %+v, transcoders %+v and %+v", d, sa, sb)
	}
	if d.Dropped == 0 || d.FramesOut == 0 {
		t.Fatalf("meter %+v: want frames out and drops", d)
	}
	// About 0.7 ms of work per 20 ms Opus frame on this machine; far more
	// than zero, far less than the audio's own length.
	if d.Busy <= 0 || d.Busy > 2*time.Second {
		t.Fatalf("busy %v for %d frames", d.Busy, d.FramesOut)
	}
	if got.OpusToAAC != (DirectionCounters{}) {
		t.Fatalf("opus->aac counted %+v for an AAC source", got.OpusToAAC)
	}
	t.Logf("aac->opus: %+v", d)
}

func TestNoMeterCountsNothing(t *testing.T) {
	var d *direction
	d.frameIn()
	d.frameOut()
	d.drop()
	d.busy(time.Now())
	var m *Meter
	if m.aacToOpus() != nil || m.opusToAAC() != nil {
		t.Fatal("nil meter gave a direction")
	}
}

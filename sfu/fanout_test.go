package sfu_test

import (
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/sfu"
)

// Live viewers on UDP are served by the stream's fan-out loop: one
// goroutine, many viewers' packets per system call. A loop that falls so
// far behind that the ring moves past its viewers hands them back to
// their own goroutines, which skip them to the newest keyframe with
// continuous sequence numbers, and take them over again.
func TestFanoutLoopServesLiveViewersAndRecoversFromOverrun(t *testing.T) {
	// A short NACK history, so the ring drops what a stalled loop did not
	// send within a GOP (1 s).
	r := newRig(t, sfu.Config{NACKHistory: 64})
	_, st := r.publish(t, ingesttest.Options{GOP: 30})
	const n = 3
	var vs []*viewer
	for range n {
		vs = append(vs, r.watch(t, viewerOpts{}))
	}
	wheptest.WaitFor(t, 10*time.Second, "every viewer in the fan-out loop", func() bool {
		return sfu.FanoutViewers(r.sfu, st) == n
	})
	c0 := r.sfu.Counters()
	time.Sleep(time.Second)
	c1 := r.sfu.Counters()
	calls, packets := c1.FanoutSyscalls-c0.FanoutSyscalls, c1.FanoutPackets-c0.FanoutPackets
	t.Logf("in 1 s the loop sent %d packets to %d viewers in %d system calls", packets, n, calls)
	// 30 frames of ~10 packets and 50 audio packets a second, per viewer.
	if packets < n*200 {
		t.Fatalf("the loop sent %d packets in a second to %d viewers, want the stream's (~350 each)", packets, n)
	}
	if packets < 3*calls {
		t.Errorf("%d packets in %d system calls: want several viewers' packets per call", packets, calls)
	}

	release := sfu.HoldFanout(r.sfu, st)
	held := time.Now()
	time.Sleep(2500 * time.Millisecond)
	release()
	resumed := time.Now()
	wheptest.WaitFor(t, 10*time.Second, "every viewer back in the fan-out loop", func() bool {
		return sfu.FanoutViewers(r.sfu, st) == n
	})
	time.Sleep(time.Second)
	if skips := r.sfu.Counters().Skips; skips < n {
		t.Errorf("%d skips after the stalled loop, want one per viewer (%d)", skips, n)
	}
	for i, v := range vs {
		video, audio := v.Snapshot()
		wheptest.CheckSeqContinuous(t, "video", video)
		wheptest.CheckSeqContinuous(t, "audio", audio)
		var before, after int
		first := -1
		for k, rec := range video {
			switch {
			case rec.At.Before(held):
				before++
			case rec.At.After(resumed):
				if first < 0 {
					first = k
				}
				after++
			}
		}
		if before == 0 || after < 100 {
			t.Fatalf("viewer %d: %d video packets before the stall, %d after; want both", i, before, after)
		}
		// The first thing after the stall is the newest keyframe.
		if types := wheptest.FirstAccessUnit(t, video[first:]); len(types) == 0 || types[len(types)-1] != 5 {
			t.Errorf("viewer %d: first access unit after the stall has NAL types %v, want a keyframe (IDR, 5)", i, types)
		}
	}
}

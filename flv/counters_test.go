package flv

import "testing"

func TestCountersSkipCountedPerOverflow(t *testing.T) {
	var c counters
	v := newViewer(2, true)
	v.ctr = &c
	v.push(mk(kindVideo, true, 0))
	v.push(mk(kindVideo, false, 33))
	v.push(mk(kindVideo, false, 66)) // full: skip to the next keyframe
	v.push(mk(kindVideo, false, 100))
	v.push(mk(kindVideo, true, 133))
	v.push(mk(kindVideo, false, 166))
	v.push(mk(kindVideo, false, 200)) // full again
	if got := c.skips.Load(); got != 2 || v.skipCount() != 2 {
		t.Fatalf("skips counted %d, viewer saw %d; want 2", got, v.skipCount())
	}
	// A viewer without counters (unit tests elsewhere) still works.
	w := newViewer(1, true)
	w.push(mk(kindVideo, true, 0))
	w.push(mk(kindVideo, true, 33))
}

func TestCountersSentPerTransport(t *testing.T) {
	var c counters
	a, b := mk(kindVideo, true, 0), mk(kindAudio, false, 10)
	c.sent("flv", []*tag{a, b})
	c.sent("ws-flv", []*tag{a})
	h := &Handler{}
	h.ctr.httpTags.Store(c.httpTags.Load())
	want := uint64(a.size() + b.size())
	if c.httpTags.Load() != 2 || c.httpBytes.Load() != want || c.wsTags.Load() != 1 || c.wsBytes.Load() != uint64(a.size()) {
		t.Fatalf("http %d tags %d bytes (want 2, %d); ws %d tags %d bytes",
			c.httpTags.Load(), c.httpBytes.Load(), want, c.wsTags.Load(), c.wsBytes.Load())
	}
	if got := h.Counters().HTTPTags; got != 2 {
		t.Fatalf("snapshot HTTPTags = %d", got)
	}
}

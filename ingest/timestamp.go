package ingest

import "time"

// timeline turns RTMP's 32-bit millisecond timestamps (audio and video share
// one clock) into a 64-bit time relative to the first message, surviving
// the wrap at 2^32 ms (~49.7 days) and small backward steps between the
// interleaved audio and video messages.
type timeline struct {
	started bool
	last    uint32
	ext     int64 // unwrapped ms of last
	base    int64
}

func (t *timeline) at(ts uint32) time.Duration {
	if !t.started {
		t.started, t.last, t.ext, t.base = true, ts, int64(ts), int64(ts)
		return 0
	}
	// The signed difference is correct across the wrap as long as
	// consecutive messages are less than ~24 days apart.
	t.ext += int64(int32(ts - t.last))
	t.last = ts
	return time.Duration(t.ext-t.base) * time.Millisecond
}

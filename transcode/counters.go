package transcode

import (
	"sync/atomic"
	"time"
)

// Meter adds up the work of every transcoder started with it in
// Config.Meter, for metrics. The zero value is ready; it is safe for
// concurrent use.
type Meter struct {
	aacOpus, opusAAC direction
}

// direction is the counters of one transcoding direction.
type direction struct {
	in, out, dropped, busyNanos atomic.Uint64
}

// Counters is a snapshot of a Meter, per direction. Every field only grows.
type Counters struct {
	AACToOpus, OpusToAAC DirectionCounters
}

// DirectionCounters counts the frames of one direction and the time its
// goroutines spent working on them (decode, resample, encode, write: CPU
// bound, so close to their CPU time).
type DirectionCounters struct {
	FramesIn, FramesOut, Dropped uint64
	Busy                         time.Duration
}

// Counters returns a snapshot of the meter.
func (m *Meter) Counters() Counters {
	return Counters{AACToOpus: m.aacOpus.snapshot(), OpusToAAC: m.opusAAC.snapshot()}
}

func (d *direction) snapshot() DirectionCounters {
	return DirectionCounters{
		FramesIn:  d.in.Load(),
		FramesOut: d.out.Load(),
		Dropped:   d.dropped.Load(),
		Busy:      time.Duration(d.busyNanos.Load()),
	}
}

// aacToOpus and opusToAAC return the meter's direction; nil without a meter.
func (m *Meter) aacToOpus() *direction {
	if m == nil {
		return nil
	}
	return &m.aacOpus
}

func (m *Meter) opusToAAC() *direction {
	if m == nil {
		return nil
	}
	return &m.opusAAC
}

// The methods below do nothing on a nil direction (no Meter configured).

func (d *direction) frameIn() {
	if d != nil {
		d.in.Add(1)
	}
}

func (d *direction) frameOut() {
	if d != nil {
		d.out.Add(1)
	}
}

func (d *direction) drop() {
	if d != nil {
		d.dropped.Add(1)
	}
}

// busy adds the time since start, when start is set.
func (d *direction) busy(start time.Time) {
	if d != nil && !start.IsZero() {
		d.busyNanos.Add(uint64(time.Since(start)))
	}
}

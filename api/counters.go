package api

import "sync/atomic"

// Meter counts the requests the API refused for reasons operators watch.
// Pass one in Deps.Meter and read it with Counters; the zero value is
// ready and it is safe for concurrent use.
type Meter struct {
	storeUnavailable, bodyTooLarge atomic.Uint64
}

// Counters is a snapshot of a Meter. Every field only grows.
type Counters struct {
	// StoreUnavailable counts requests answered 503 because the store
	// engine (Redis) could not be reached.
	StoreUnavailable uint64
	// BodyTooLarge counts JSON bodies refused with 413.
	BodyTooLarge uint64
}

// Counters returns a snapshot of the meter.
func (m *Meter) Counters() Counters {
	return Counters{StoreUnavailable: m.storeUnavailable.Load(), BodyTooLarge: m.bodyTooLarge.Load()}
}

// The methods below do nothing on a nil Meter (none configured).

func (m *Meter) storeDown() {
	if m != nil {
		m.storeUnavailable.Add(1)
	}
}

func (m *Meter) tooLarge() {
	if m != nil {
		m.bodyTooLarge.Add(1)
	}
}

package store

import "time"

// DefaultEndedRetention is how long an ended gig (its page, its stream key)
// is kept before SweepExpired removes it: long enough for a creator to look
// back at a show and for refunds to settle.
const DefaultEndedRetention = 30 * 24 * time.Hour

// SweepBatch is the most gigs one SweepExpired call removes, so that one
// call never holds Redis for long. A caller that gets SweepBatch ids back
// calls again at once.
const SweepBatch = 100

// endedRetention reads a config value: 0 means the default, a negative
// value means ended gigs are kept forever (returned as 0).
func endedRetention(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultEndedRetention
	case d < 0:
		return 0
	}
	return d
}

// expiresAt is when g, if ended, is due for removal; ok=false means never.
func expiresAt(g Gig, retention time.Duration) (at time.Time, ok bool) {
	if retention <= 0 || g.Status != StatusEnded || g.EndedAt.IsZero() {
		return time.Time{}, false
	}
	return g.EndedAt.Add(retention), true
}

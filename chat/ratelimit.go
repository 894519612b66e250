package chat

import "time"

// rateLimiter allows burst messages per window, then refuses everything for
// timeout (Owncast's 3 messages / 2 s rule). Only the connection's reader
// uses it, so it needs no lock.
type rateLimiter struct {
	burst   int
	window  time.Duration
	timeout time.Duration
	sent    []time.Time
	blocked time.Time
}

func newRateLimiter(burst int, window, timeout time.Duration) *rateLimiter {
	return &rateLimiter{burst: burst, window: window, timeout: timeout, sent: make([]time.Time, 0, burst)}
}

// allow records a message at now, or returns how long the sender must wait.
func (l *rateLimiter) allow(now time.Time) (bool, time.Duration) {
	if now.Before(l.blocked) {
		return false, l.blocked.Sub(now)
	}
	keep := l.sent[:0]
	for _, t := range l.sent {
		if now.Sub(t) < l.window {
			keep = append(keep, t)
		}
	}
	l.sent = keep
	if len(l.sent) >= l.burst {
		l.blocked = now.Add(l.timeout)
		l.sent = l.sent[:0]
		return false, l.timeout
	}
	l.sent = append(l.sent, now)
	return true, 0
}

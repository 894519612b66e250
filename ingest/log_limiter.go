package ingest

import (
	"sync"
	"time"
)

// logLimiter lets logLimitBurst lines a second through for events an
// attacker can cause at will (refused, timed-out and malformed connections
// that never published), so that a flood of them cannot flood the log; the
// lines it holds back are counted in the next one.
type logLimiter struct {
	mu     sync.Mutex
	window time.Time
	n      int
	quiet  int
}

const logLimitBurst = 10

// allow reports whether to log now, and how many lines were held back
// since the last one logged.
func (l *logLimiter) allow(now time.Time) (quiet int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= logLimitBurst {
		l.quiet++
		return 0, false
	}
	l.n++
	quiet, l.quiet = l.quiet, 0
	return quiet, true
}

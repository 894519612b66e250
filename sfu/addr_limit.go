package sfu

import (
	"net/netip"
	"sync"
	"time"
)

// addrKey is what per-address limits count a client address as: an IPv4
// address itself, an IPv6 address by its /64 (one subscriber usually gets a
// whole /64, so counting single IPv6 addresses would be no limit at all).
// Anything that does not parse counts as itself.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// offerLimiter counts WHEP offers per address in fixed windows. It is
// touched once per POST, so a mutex is fine.
type offerLimiter struct {
	limit  int
	window time.Duration

	mu    sync.Mutex
	wins  map[string]offerWindow
	swept time.Time
}

type offerWindow struct {
	start time.Time
	n     int
}

func newOfferLimiter(limit int, window time.Duration) *offerLimiter {
	return &offerLimiter{limit: limit, window: window, wins: make(map[string]offerWindow)}
}

// allow counts one offer from key at now; when it is over the limit it
// says how long until the window ends.
func (l *offerLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.window {
		// Ended windows go in one pass per window: the map only holds the
		// addresses seen lately, however many there were over time.
		for k, w := range l.wins {
			if now.Sub(w.start) >= l.window {
				delete(l.wins, k)
			}
		}
		l.swept = now
	}
	w := l.wins[key]
	if w.n == 0 || now.Sub(w.start) >= l.window {
		w = offerWindow{start: now}
	}
	if w.n >= l.limit {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	l.wins[key] = w
	return true, 0
}

package chat

import (
	"sync"
	"time"
)

// maxFailedJoinsPerConn closes a connection after this many refused
// credentials, whatever the pace: a page with a wrong token gives up after
// one, only a guesser keeps trying.
const maxFailedJoinsPerConn = 3

// authFails counts refused credentials (wrong manage tokens, refused
// tickets) per client address in fixed windows, so guessing tokens from
// one address stops after a few tries however many connections it opens.
type authFails struct {
	limit  int
	window time.Duration

	mu        sync.Mutex
	byAddr    map[string]*failWindow
	lastPrune time.Time
}

type failWindow struct {
	start time.Time
	n     int
}

func newAuthFails(limit int, window time.Duration) *authFails {
	return &authFails{limit: limit, window: window, byAddr: make(map[string]*failWindow)}
}

// blocked reports how long the address must wait before its next join with
// a credential (0: it may try).
func (a *authFails) blocked(addr string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.byAddr[addr]
	if w == nil || w.n < a.limit {
		return 0
	}
	end := w.start.Add(a.window)
	if !end.After(now) {
		delete(a.byAddr, addr)
		return 0
	}
	return end.Sub(now)
}

// fail counts a refused credential of the address.
func (a *authFails) fail(addr string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prune(now)
	w := a.byAddr[addr]
	if w == nil || !w.start.Add(a.window).After(now) {
		w = &failWindow{start: now}
		a.byAddr[addr] = w
	}
	w.n++
}

// prune drops ended windows, at most once per window, so the map holds
// only addresses that failed recently.
func (a *authFails) prune(now time.Time) {
	if now.Sub(a.lastPrune) < a.window {
		return
	}
	a.lastPrune = now
	for k, w := range a.byAddr {
		if !w.start.Add(a.window).After(now) {
			delete(a.byAddr, k)
		}
	}
}

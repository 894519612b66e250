// Package slots caps how many viewers a node serves per gig and per client
// address (WHEP sessions, FLV connections): a Counter hands out one slot of
// each per viewer and takes them back when the viewer leaves. It imports the
// standard library only.
package slots

import (
	"errors"
	"sync"
)

var (
	// ErrGigFull means the gig has Caps.PerGig slots taken.
	ErrGigFull = errors.New("gig viewer cap reached")
	// ErrAddrFull means the client address has Caps.PerAddr slots taken.
	ErrAddrFull = errors.New("per-address viewer cap reached")
)

// Caps are the most slots a gig and a client address may hold at once;
// 0 is no cap.
type Caps struct {
	PerGig  int
	PerAddr int
}

// Counter counts the slots taken per gig and per client address (AddrKey).
// Take and Release run once per viewer, never per packet, so one mutex is
// enough. The zero Counter is not usable; call New.
type Counter struct {
	caps Caps

	mu    sync.Mutex
	gigs  map[string]int
	addrs map[string]int
	total int
}

// New returns a Counter with no slot taken.
func New(caps Caps) *Counter {
	return &Counter{caps: caps, gigs: make(map[string]int), addrs: make(map[string]int)}
}

// Take takes one of the gig's slots and one of the address's (addr is an
// AddrKey), or neither and says which cap is reached (ErrGigFull first).
func (c *Counter) Take(gigID, addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.caps.PerGig > 0 && c.gigs[gigID] >= c.caps.PerGig {
		return ErrGigFull
	}
	if c.caps.PerAddr > 0 && c.addrs[addr] >= c.caps.PerAddr {
		return ErrAddrFull
	}
	c.gigs[gigID]++
	c.addrs[addr]++
	c.total++
	return nil
}

// Release gives back the slots one Take took. Counts that reach zero are
// forgotten, so the maps hold only gigs and addresses with viewers.
func (c *Counter) Release(gigID, addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.gigs[gigID]--; c.gigs[gigID] <= 0 {
		delete(c.gigs, gigID)
	}
	if c.addrs[addr]--; c.addrs[addr] <= 0 {
		delete(c.addrs, addr)
	}
}

// Taken returns the slots the gig and the address hold.
func (c *Counter) Taken(gigID, addr string) (gig, address int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gigs[gigID], c.addrs[addr]
}

// Total returns the slots taken over every gig.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

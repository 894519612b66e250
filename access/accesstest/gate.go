// Package accesstest is an access.Gate for the tests of packages that ask
// one (sfu, flv): a few lines of rules and a record of what was asked.
package accesstest

import (
	"context"
	"errors"
	"sync"

	"github.com/bookmygig/bookmygig/access"
)

// ErrStoreDown is a failure of the store behind a gate, for SetFail: not a
// refusal, so handlers answer it 503.
var ErrStoreDown = errors.New("ticket store: connection refused")

// Gate is a small access.Gate: ticketed gigs need one of the valid
// credentials ("tk_good" or "tk_other"), every other gig is open. Every
// admission is recorded with how often its pass was released.
type Gate struct {
	mu       sync.Mutex
	ticketed map[string]bool
	valid    map[string]bool
	fail     error
	admits   []access.Request
	passes   []*access.Pass
	released map[*access.Pass]int
}

var _ access.Gate = (*Gate)(nil)

// NewGate returns a gate on which ticketedGigs need a ticket.
func NewGate(ticketedGigs ...string) *Gate {
	g := &Gate{ticketed: map[string]bool{}, valid: map[string]bool{"tk_good": true, "tk_other": true}, released: map[*access.Pass]int{}}
	for _, id := range ticketedGigs {
		g.ticketed[id] = true
	}
	return g
}

// Admit records req and admits it by the rules above. A ticket's pass has
// the TicketID "t-" + credential; an open gig's pass has none.
func (g *Gate) Admit(_ context.Context, req access.Request) (*access.Pass, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.admits = append(g.admits, req)
	switch {
	case g.fail != nil:
		return nil, g.fail
	case !g.ticketed[req.GigID]:
	case req.Credential == "":
		return nil, access.ErrTicketRequired
	case !g.valid[req.Credential]:
		return nil, access.ErrInvalidTicket
	}
	id := ""
	if g.ticketed[req.GigID] {
		id = "t-" + req.Credential
	}
	var p *access.Pass
	p = access.NewPass(id, "Holder", false, req.Screen, func() {
		g.mu.Lock()
		g.released[p]++
		g.mu.Unlock()
	})
	g.passes = append(g.passes, p)
	return p, nil
}

// SetFail makes every Admit fail with err until it is set back to nil.
func (g *Gate) SetFail(err error) {
	g.mu.Lock()
	g.fail = err
	g.mu.Unlock()
}

// SetTicketed makes gig ticketed (on) or open.
func (g *Gate) SetTicketed(gig string, on bool) {
	g.mu.Lock()
	g.ticketed[gig] = on
	g.mu.Unlock()
}

// Last returns the newest pass and the request that got it.
func (g *Gate) Last() (*access.Pass, access.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.passes[len(g.passes)-1], g.admits[len(g.admits)-1]
}

// Releases returns how often p was released.
func (g *Gate) Releases(p *access.Pass) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.released[p]
}

// Admits returns how many admissions were asked for, refused ones included.
func (g *Gate) Admits() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.admits)
}

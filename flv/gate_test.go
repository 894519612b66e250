package flv_test

import (
	"context"
	"errors"
	"sync"

	"github.com/bookmygig/bookmygig/access"
)

// testGate is a small access.Gate: gigs in ticketed need one of the valid
// credentials; every admission is recorded with how often its pass was
// released.
type testGate struct {
	mu       sync.Mutex
	ticketed map[string]bool
	valid    map[string]bool
	fail     error
	admits   []access.Request
	passes   []*access.Pass
	released map[*access.Pass]int
}

var _ access.Gate = (*testGate)(nil)

func newTestGate(ticketedGigs ...string) *testGate {
	g := &testGate{ticketed: map[string]bool{}, valid: map[string]bool{"tk_good": true, "tk_other": true}, released: map[*access.Pass]int{}}
	for _, id := range ticketedGigs {
		g.ticketed[id] = true
	}
	return g
}

var errStoreDown = errors.New("ticket store: connection refused")

func (g *testGate) Admit(_ context.Context, req access.Request) (*access.Pass, error) {
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

func (g *testGate) setFail(err error) {
	g.mu.Lock()
	g.fail = err
	g.mu.Unlock()
}

func (g *testGate) setTicketed(gig string, on bool) {
	g.mu.Lock()
	g.ticketed[gig] = on
	g.mu.Unlock()
}

// last returns the newest pass and the request that got it.
func (g *testGate) last() (*access.Pass, access.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.passes[len(g.passes)-1], g.admits[len(g.admits)-1]
}

func (g *testGate) releases(p *access.Pass) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.released[p]
}

func (g *testGate) admitCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.admits)
}

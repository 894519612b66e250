package ticket

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// fakeGigs is a GigLookup over a map: gigs listed in ticketed are ticketed,
// others open; manage holds each gig's manage token.
type fakeGigs struct {
	mu       sync.Mutex
	ticketed map[string]bool
	manage   map[string]string
	err      error // returned by both methods when set
}

func newFakeGigs() *fakeGigs {
	return &fakeGigs{
		ticketed: map[string]bool{gigA: true, gigB: true},
		manage:   map[string]string{gigA: "mt_manageA", gigB: "mt_manageB"},
	}
}

func (f *fakeGigs) Ticketed(ctx context.Context, gigID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ticketed[gigID], f.err
}

func (f *fakeGigs) CheckManageToken(ctx context.Context, gigID, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if want, ok := f.manage[gigID]; ok && want == token {
		return nil
	}
	return errors.New("unauthorized")
}

func (f *fakeGigs) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func newTestGate(t testing.TB, gigs GigLookup, s Store, bus Bus, node string) *Gate {
	t.Helper()
	g, err := NewGate(GateConfig{Gigs: gigs, Tickets: s, Bus: bus, NodeID: node}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func admit(t testing.TB, g *Gate, gig, cred string, kind access.Kind, screen string) *access.Pass {
	t.Helper()
	p, err := g.Admit(context.Background(), access.Request{GigID: gig, Credential: cred, Kind: kind, Screen: screen})
	if err != nil {
		t.Fatalf("admit %v on %s: %v", kind, g.node, err)
	}
	t.Cleanup(p.Release)
	return p
}

// waitEnded fails unless p ends with want within d.
func waitEnded(t testing.TB, p *access.Pass, want error, d time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(max(d, time.Millisecond)):
		t.Fatalf("pass of ticket %q still open after %v, want it ended with %v", p.TicketID, d, want)
	}
	if !errors.Is(p.Err(), want) {
		t.Fatalf("pass ended with %v, want %v", p.Err(), want)
	}
}

func wantAlive(t testing.TB, p *access.Pass, what string) {
	t.Helper()
	if err := p.Err(); err != nil {
		t.Fatalf("%s ended: %v", what, err)
	}
}

// livePasses counts the passes a gate tracks.
func livePasses(g *Gate) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, ps := range g.passes {
		n += len(ps)
	}
	return n
}

// failingStore fails Authenticate as an unreachable Redis does.
type failingStore struct{ Store }

func (failingStore) Authenticate(ctx context.Context, gigID, token string) (Ticket, error) {
	return Ticket{}, ErrUnavailable
}

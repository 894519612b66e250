package ticket

import (
	"context"
	"errors"
	"testing"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/secret"
)

func TestGateAdmit(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	gigs := newFakeGigs()
	g := newTestGate(t, gigs, s, NewMemoryBus(), "n1")
	valid, tok := mustIssue(t, s, freeIssue(gigA, 0))
	_, tokOther := mustIssue(t, s, freeIssue(gigB, 0))
	_, pending, _ := s.Reserve(ctx, gigA, ada(), 500, "USD")
	revoked, tokRevoked := mustIssue(t, s, freeIssue(gigA, 0))
	if _, err := s.End(ctx, gigA, revoked.ID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	const openGig = "oooooooooooooooo"

	for _, c := range []struct {
		name    string
		gig     string
		cred    string
		kind    access.Kind
		want    error
		ticket  string
		creator bool
	}{
		{"open gig", openGig, "", access.Media, nil, "", false},
		{"open gig ignores credentials", openGig, "garbage", access.Chat, nil, "", false},
		{"no credential", gigA, "", access.Media, access.ErrTicketRequired, "", false},
		{"blank credential", gigA, "  ", access.Chat, access.ErrTicketRequired, "", false},
		{"garbage", gigA, "hello", access.Media, access.ErrInvalidTicket, "", false},
		{"stream key", gigA, "sk_abc", access.Media, access.ErrInvalidTicket, "", false},
		{"unknown ticket", gigA, secret.New(TokenPrefix), access.Media, access.ErrInvalidTicket, "", false},
		{"another gig's ticket", gigA, tokOther, access.Media, access.ErrInvalidTicket, "", false},
		{"pending payment", gigA, pending, access.Media, access.ErrInvalidTicket, "", false},
		{"revoked", gigA, tokRevoked, access.Chat, access.ErrTicketRevoked, "", false},
		{"wrong manage token", gigA, "mt_manageB", access.Media, access.ErrInvalidTicket, "", false},
		{"manage token", gigA, "mt_manageA", access.Media, nil, "", true},
		{"valid media", gigA, tok, access.Media, nil, valid.ID, false},
		{"valid chat", gigA, " " + tok + " ", access.Chat, nil, valid.ID, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := g.Admit(ctx, access.Request{GigID: c.gig, Credential: c.cred, Kind: c.kind, Screen: "s"})
			if !errors.Is(err, c.want) || (err != nil && c.want == nil) {
				t.Fatalf("admit: %v, want %v", err, c.want)
			}
			if err != nil {
				if !access.Denied(err) || p != nil {
					t.Fatalf("refusal %v is not Denied or came with a pass", err)
				}
				return
			}
			defer p.Release()
			if p.TicketID != c.ticket || p.Creator != c.creator || p.Err() != nil {
				t.Fatalf("pass %+v", p)
			}
			if c.ticket != "" && p.Holder != "Ada Lovelace" {
				t.Fatalf("holder %q", p.Holder)
			}
		})
	}

	t.Run("failures are not refusals", func(t *testing.T) {
		gf := newTestGate(t, gigs, failingStore{s}, NewMemoryBus(), "n2")
		_, err := gf.Admit(ctx, access.Request{GigID: gigA, Credential: tok, Kind: access.Media})
		if err == nil || access.Denied(err) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("store failure: %v", err)
		}
		gigs.fail(ErrUnavailable)
		defer gigs.fail(nil)
		for _, cred := range []string{tok, "mt_manageA"} {
			_, err := g.Admit(ctx, access.Request{GigID: gigA, Credential: cred, Kind: access.Media})
			if err == nil || access.Denied(err) || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("gig lookup failure: %v", err)
			}
		}
		if _, err := g.Admit(ctx, access.Request{GigID: gigA, Credential: tok}); err == nil || access.Denied(err) {
			t.Fatalf("request without kind: %v", err)
		}
	})

	t.Run("screen made up when missing", func(t *testing.T) {
		p := admit(t, g, gigA, tok, access.Media, "")
		if p.Screen == "" {
			t.Fatal("no screen")
		}
		if sc, _ := g.CurrentScreen(ctx, gigA, valid.ID); sc != p.Screen {
			t.Fatalf("current screen %q, pass screen %q", sc, p.Screen)
		}
	})

	if _, err := NewGate(GateConfig{Tickets: s}, nil); err == nil {
		t.Fatal("NewGate without Gigs and Bus")
	}
}

func TestGateOneScreen(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	g := newTestGate(t, newFakeGigs(), s, NewMemoryBus(), "n1")
	tk, tok := mustIssue(t, s, freeIssue(gigA, 0))
	_, tok2 := mustIssue(t, s, freeIssue(gigA, 0))

	phone := admit(t, g, gigA, tok, access.Media, "phone")
	chat := admit(t, g, gigA, tok, access.Chat, "phone")
	other := admit(t, g, gigA, tok2, access.Media, "phone")
	creator := admit(t, g, gigA, "mt_manageA", access.Media, "studio")
	creator2 := admit(t, g, gigA, "mt_manageA", access.Media, "studio2")
	tv := admit(t, g, gigA, tok, access.Media, "tv")

	// Locally the older screen ends before Admit returns.
	if !errors.Is(phone.Err(), access.ErrWatchingElsewhere) {
		t.Fatalf("first screen: %v, want ErrWatchingElsewhere", phone.Err())
	}
	if !errors.Is(context.Cause(phone.Context()), access.ErrWatchingElsewhere) {
		t.Fatal("pass context cause")
	}
	wantAlive(t, tv, "new screen")
	wantAlive(t, chat, "chat of the same ticket")
	wantAlive(t, other, "another ticket's screen")
	wantAlive(t, creator, "creator")
	wantAlive(t, creator2, "creator's second screen")
	if sc, err := g.CurrentScreen(ctx, gigA, tk.ID); err != nil || sc != "tv" {
		t.Fatalf("current screen %q %v", sc, err)
	}
	// The same screen reconnecting replaces its own old session too.
	tv2 := admit(t, g, gigA, tok, access.Media, "tv")
	waitEnded(t, tv, access.ErrWatchingElsewhere, 0)
	wantAlive(t, tv2, "reconnected screen")

	for _, p := range []*access.Pass{phone, chat, other, tv, tv2, creator, creator2} {
		p.Release()
		p.Release()
	}
	if n := livePasses(g); n != 0 {
		t.Fatalf("%d passes tracked after release", n)
	}
}

func TestGateRevoke(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	g := newTestGate(t, newFakeGigs(), s, NewMemoryBus(), "n1")
	tk, tok := mustIssue(t, s, freeIssue(gigA, 0))
	tk2, tok2 := mustIssue(t, s, freeIssue(gigA, 0))

	media := admit(t, g, gigA, tok, access.Media, "")
	chat1 := admit(t, g, gigA, tok, access.Chat, "")
	chat2 := admit(t, g, gigA, tok, access.Chat, "")
	other := admit(t, g, gigA, tok2, access.Media, "")
	creator := admit(t, g, gigA, "mt_manageA", access.Chat, "")

	ended, err := g.Revoke(ctx, gigA, tk.ID, StatusRevoked)
	if err != nil || ended.Status != StatusRevoked {
		t.Fatalf("revoke: %+v %v", ended, err)
	}
	for _, p := range []*access.Pass{media, chat1, chat2} {
		waitEnded(t, p, access.ErrTicketRevoked, 0)
	}
	wantAlive(t, other, "another ticket")
	wantAlive(t, creator, "creator")
	for _, k := range []access.Kind{access.Media, access.Chat} {
		if _, err := g.Admit(ctx, access.Request{GigID: gigA, Credential: tok, Kind: k}); !errors.Is(err, access.ErrTicketRevoked) {
			t.Fatalf("re-admission after revoke: %v", err)
		}
	}
	if _, err := g.Revoke(ctx, gigA, tk.ID, StatusRefunded); !errors.Is(err, ErrConflict) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := g.Revoke(ctx, gigA, secret.NewID(), StatusRevoked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if t2, err := g.Revoke(ctx, gigA, tk2.ID, StatusRefunded); err != nil || t2.Status != StatusRefunded {
		t.Fatalf("refund: %+v %v", t2, err)
	}
	waitEnded(t, other, access.ErrTicketRevoked, 0)
	if n := livePasses(g); n != 0 { // creators are never tracked
		t.Fatalf("%d passes tracked", n)
	}
}

// TestGateRevocationHeardBeforeRegistration: a revocation event that lands
// between the store check and the registration still refuses the viewer.
func TestGateRevocationHeardBeforeRegistration(t *testing.T) {
	s := NewMemoryStore()
	g := newTestGate(t, newFakeGigs(), s, NewMemoryBus(), "n1")
	tk, tok := mustIssue(t, s, freeIssue(gigA, 0))
	// The event came, the store write it announces is not visible yet.
	g.onEvent(Event{Type: EventRevoked, GigID: gigA, TicketID: tk.ID})
	if _, err := g.Admit(context.Background(), access.Request{GigID: gigA, Credential: tok, Kind: access.Chat}); !errors.Is(err, access.ErrTicketRevoked) {
		t.Fatalf("admit: %v, want ErrTicketRevoked", err)
	}
}

// TestGatesShareMemoryBus: two gates in one process (as on a node with two
// gates, or a test of two nodes) follow one another's events.
func TestGatesShareMemoryBus(t *testing.T) {
	ctx := context.Background()
	s, bus, gigs := NewMemoryStore(), NewMemoryBus(), newFakeGigs()
	a := newTestGate(t, gigs, s, bus, "a")
	b := newTestGate(t, gigs, s, bus, "b")
	tk, tok := mustIssue(t, s, freeIssue(gigA, 0))
	pa := admit(t, a, gigA, tok, access.Media, "phone")
	ca := admit(t, a, gigA, tok, access.Chat, "phone")
	pb := admit(t, b, gigA, tok, access.Media, "tv")
	waitEnded(t, pa, access.ErrWatchingElsewhere, 0)
	wantAlive(t, pb, "newest screen")
	wantAlive(t, ca, "chat")
	if sc, _ := a.CurrentScreen(ctx, gigA, tk.ID); sc != "tv" {
		t.Fatalf("current screen %q", sc)
	}
	if _, err := a.Revoke(ctx, gigA, tk.ID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, pb, access.ErrTicketRevoked, 0)
	waitEnded(t, ca, access.ErrTicketRevoked, 0)
	bus.Forget(gigA)
	if sc, _ := a.CurrentScreen(ctx, gigA, tk.ID); sc != "" {
		t.Fatalf("screen after Forget %q", sc)
	}
}

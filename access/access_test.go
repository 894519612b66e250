package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestPassLifecycle(t *testing.T) {
	released := 0
	p := NewPass("t1", "Ada", false, "tv", func() { released++ })
	if p.TicketID != "t1" || p.Holder != "Ada" || p.Creator || p.Screen != "tv" {
		t.Fatalf("pass %+v", p)
	}
	if p.Err() != nil || p.Context().Err() != nil {
		t.Fatal("a new pass has ended")
	}
	select {
	case <-p.Done():
		t.Fatal("Done closed on a new pass")
	default:
	}
	p.End(ErrWatchingElsewhere)
	<-p.Done()
	if !errors.Is(p.Err(), ErrWatchingElsewhere) || !errors.Is(context.Cause(p.Context()), ErrWatchingElsewhere) {
		t.Fatalf("err %v", p.Err())
	}
	// The first cause stays.
	p.End(ErrTicketRevoked)
	if !errors.Is(p.Err(), ErrWatchingElsewhere) {
		t.Fatalf("cause replaced: %v", p.Err())
	}
	p.Release()
	p.Release()
	if released != 1 {
		t.Fatalf("release callback ran %d times", released)
	}
	if !errors.Is(p.Err(), ErrWatchingElsewhere) {
		t.Fatalf("release replaced the cause: %v", p.Err())
	}
}

func TestPassReleaseWithoutEnd(t *testing.T) {
	var mu sync.Mutex
	released := 0
	p := NewPass("", "", true, "", func() { mu.Lock(); released++; mu.Unlock() })
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); p.Release() }()
	}
	wg.Wait()
	if released != 1 {
		t.Fatalf("release callback ran %d times", released)
	}
	<-p.Done()
	if !errors.Is(p.Err(), context.Canceled) || Denied(p.Err()) {
		t.Fatalf("released pass err %v", p.Err())
	}
	// A nil callback is fine, and Open passes never end by themselves.
	o := Open()
	if o.Err() != nil || o.TicketID != "" || o.Creator {
		t.Fatalf("open pass %+v", o)
	}
	o.Release()
	o.Release()
}

func TestCodesAndMessages(t *testing.T) {
	for _, c := range []struct {
		err    error
		code   string
		denied bool
		msg    string
	}{
		{ErrTicketRequired, "ticket_required", true, "this gig needs a ticket"},
		{ErrInvalidTicket, "invalid_ticket", true, "not valid for this gig"},
		{ErrTicketRevoked, "ticket_revoked", true, "revoked by the creator"},
		{ErrWatchingElsewhere, "watching_elsewhere", true, "watching elsewhere"},
		{fmt.Errorf("gig x: %w", ErrInvalidTicket), "invalid_ticket", true, "not valid"},
		{errors.New("redis down"), "", false, "access check failed"},
		{context.Canceled, "", false, "access check failed"},
		{nil, "", false, "access check failed"},
	} {
		if got := Code(c.err); got != c.code {
			t.Errorf("Code(%v) = %q, want %q", c.err, got, c.code)
		}
		if got := Denied(c.err); got != c.denied {
			t.Errorf("Denied(%v) = %v", c.err, got)
		}
		if got := Message("gig123", c.err); !strings.Contains(got, c.msg) {
			t.Errorf("Message(%v) = %q, want it to contain %q", c.err, got, c.msg)
		}
	}
	for _, err := range []error{ErrTicketRequired, ErrInvalidTicket} {
		if m := Message("gig123", err); !strings.Contains(m, "/api/gigs/gig123/tickets") || !strings.Contains(m, "?ticket=") {
			t.Errorf("message %q does not say how to book and send the ticket", m)
		}
	}
}

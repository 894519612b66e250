package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bookmygig/bookmygig/store"
)

// fakeShows records EndShow calls and marks a live gig ended, as cmd's
// implementation does.
type fakeShows struct {
	st  store.StatusSetter
	err error

	mu    sync.Mutex
	calls []string // "gig reason"
}

func (f *fakeShows) EndShow(ctx context.Context, gigID, reason string) error {
	f.mu.Lock()
	f.calls = append(f.calls, gigID+" "+reason)
	f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	err := f.st.SetStatus(ctx, gigID, store.StatusEnded, testStart)
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

func (f *fakeShows) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func TestEndShow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		shows := &fakeShows{}
		env := newEnv(t, e, func(d *Deps) { d.Shows = shows })
		shows.st = env.store
		g := env.create("A", testStart, "Play")
		tok := bearer(g.Credentials.ManageToken)
		end := "/api/gigs/" + g.ID + "/end"

		wantError(t, env.do("POST", end, nil), http.StatusUnauthorized, "unauthorized", "")
		wantError(t, env.do("POST", end, nil, bearer(g.Credentials.StreamKey)...), http.StatusForbidden, "forbidden", "")
		wantError(t, env.do("POST", "/api/gigs/aaaaaaaaaaaaaaaa/end", nil, tok...), http.StatusNotFound, "not_found", "")
		wantError(t, env.do("POST", end, nil, tok...), http.StatusConflict, "not_live", "")
		if c := shows.called(); len(c) != 0 {
			t.Fatalf("a gig that never went live was ended: %v", c)
		}

		if err := env.store.SetStatus(context.Background(), g.ID, store.StatusLive, testStart); err != nil {
			t.Fatal(err)
		}
		r := env.do("DELETE", "/api/gigs/"+g.ID, nil, tok...)
		wantError(t, r, http.StatusConflict, "conflict", "")
		if !strings.Contains(r.errBody(t).Message, "/end") {
			t.Fatalf("delete of a live gig does not name the end action: %s", r.body)
		}
		r = env.do("POST", end, nil, tok...)
		wantStatus(t, r, http.StatusOK)
		var got store.Gig
		r.json(t, &got)
		if got.Status != store.StatusEnded || got.ID != g.ID {
			t.Fatalf("after end: %+v, want status ended", got)
		}
		// Again: still 200, and the publishers are told again.
		wantStatus(t, env.do("POST", end, nil, tok...), http.StatusOK)
		if c := shows.called(); len(c) != 2 || c[0] != g.ID+" "+EndReasonCreator {
			t.Fatalf("EndShow calls %v", c)
		}
		// The key still works: end show does not rotate it.
		if id, err := env.store.ResolveStreamKey(context.Background(), g.Credentials.StreamKey); err != nil || id != g.ID {
			t.Fatalf("stream key after end: %q %v", id, err)
		}
		wantStatus(t, env.do("DELETE", "/api/gigs/"+g.ID, nil, tok...), http.StatusNoContent)
	})
}

func TestRotateStreamKeyEndsTheShow(t *testing.T) {
	shows := &fakeShows{}
	env := newEnv(t, engines()[0], func(d *Deps) { d.Shows = shows })
	shows.st = env.store
	g := env.create("A", testStart, "Play")
	if err := env.store.SetStatus(context.Background(), g.ID, store.StatusLive, testStart); err != nil {
		t.Fatal(err)
	}
	r := env.do("POST", "/api/gigs/"+g.ID+"/stream-key", nil, bearer(g.Credentials.ManageToken)...)
	wantStatus(t, r, http.StatusOK)
	if c := shows.called(); len(c) != 1 || c[0] != g.ID+" "+EndReasonKeyRotated {
		t.Fatalf("EndShow calls %v, want one for the rotation", c)
	}

	// The publisher could not be stopped: the creator is told to rotate again.
	shows.err = store.ErrUnavailable
	r = env.do("POST", "/api/gigs/"+g.ID+"/stream-key", nil, bearer(g.Credentials.ManageToken)...)
	wantError(t, r, http.StatusServiceUnavailable, "unavailable", "")
	if strings.Contains(string(r.body), "sk_") {
		t.Fatalf("a key whose rotation failed was shown: %s", r.body)
	}
}

func TestEndShowWithoutShowEnder(t *testing.T) {
	env := newEnv(t, engines()[0], nil)
	g := env.create("A", testStart, "Play")
	if err := env.store.SetStatus(context.Background(), g.ID, store.StatusLive, testStart); err != nil {
		t.Fatal(err)
	}
	wantError(t, env.do("POST", "/api/gigs/"+g.ID+"/end", nil, bearer(g.Credentials.ManageToken)...), http.StatusServiceUnavailable, "unavailable", "")
}

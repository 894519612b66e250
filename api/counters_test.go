package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/store"
)

// downStore is a memory store whose engine is unreachable for pings.
type downStore struct{ store.Store }

func (downStore) Ping(context.Context) error { return fmt.Errorf("ping: %w", store.ErrUnavailable) }

type observed struct {
	method, route string
	status        int
}

func TestMeterAndObserveRequest(t *testing.T) {
	var (
		meter Meter
		mu    sync.Mutex
		seen  []observed
	)
	env := newEnv(t, engines()[0], func(d *Deps) {
		d.Store = downStore{d.Store.(store.Store)}
		d.Meter = &meter
		d.MaxBodyBytes = 1024
		d.ObserveRequest = func(method, route string, status int, dur time.Duration) {
			if dur <= 0 {
				t.Errorf("%s %s: duration %v", method, route, dur)
			}
			mu.Lock()
			seen = append(seen, observed{method, route, status})
			mu.Unlock()
		}
	})
	g := env.create("A", testStart, "Music")
	wantStatus(t, env.do("GET", "/api/gigs/"+g.ID, nil), http.StatusOK)
	wantStatus(t, env.do("GET", "/readyz", nil), http.StatusServiceUnavailable)
	// Declared too large, and too large without a declared length.
	big := gigInput(strings.Repeat("x", 2000), testStart, "Music")
	wantStatus(t, env.do("POST", "/api/gigs", big), http.StatusRequestEntityTooLarge)
	req, _ := http.NewRequest("POST", env.srv.URL+"/api/gigs", strings.NewReader(`{"title":"`+strings.Repeat("x", 2000)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	res, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked big body: %d", res.StatusCode)
	}
	wantStatus(t, env.do("GET", "/api/nope/"+g.Credentials.ManageToken, nil), http.StatusNotFound)

	if got, want := meter.Counters(), (Counters{StoreUnavailable: 1, BodyTooLarge: 2}); got != want {
		t.Fatalf("meter %+v, want %+v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []observed{
		{"POST", "/api/gigs", 201},
		{"GET", "/api/gigs/:id", 200},
		{"GET", "/readyz", 503},
		{"POST", "/api/gigs", 413},
		{"POST", "/api/gigs", 413},
		{"GET", "", 404}, // unmatched: the raw path (and the token in it) never reaches the hook
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("observed %v\nwant     %v", seen, want)
	}
}

package sfu_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/access/accesstest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/webrtc/v4"
)

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// TestWHEPTicketGate: refusals, a gate failure, a ticket that plays, the
// viewer cap in front of the gate, and sessions that end with their pass.
func TestWHEPTicketGate(t *testing.T) {
	g := accesstest.NewGate("gig1")
	r := newRig(t, sfu.Config{Gate: g, MaxViewers: 1, CORSOrigins: []string{"*"}})
	r.publish(t, ingesttest.Options{})
	good := wheptest.NewClient(t, viewerOpts{}).Offer
	var want sfu.Counters // the gate's counters the subtests that ran expect

	refusals := []struct {
		name, path string
		hdr        map[string]string
		status     int
		code       string
		challenge  string
		msg        string
	}{
		{"no ticket", "/whep/gig1", nil, 401, "ticket_required", `Bearer realm="whep"`, "POST /api/gigs/gig1/tickets"},
		{"not bearer", "/whep/gig1", map[string]string{"Authorization": "Basic dTpw"}, 401, "ticket_required", `Bearer realm="whep"`, "book a ticket"},
		{"wrong ticket", "/whep/gig1", bearer("tk_forged"), 401, "invalid_ticket", `Bearer realm="whep", error="invalid_token"`, "POST /api/gigs/gig1/tickets"},
		{"bad screen", "/whep/gig1?screen=a%2Fb", bearer("tk_good"), 400, "validation_failed", "", "screen"},
		{"long screen", "/whep/gig1?screen=" + strings.Repeat("s", 65), bearer("tk_good"), 400, "validation_failed", "", "64"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status == 401 {
				want.TicketRefused++
			}
			hdr := map[string]string{"Origin": "https://player.example"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			before := g.Admits()
			resp, body := wheptest.DoRequest(t, http.MethodPost, r.srv.URL+tc.path, "application/sdp", good, hdr)
			var e apiError
			_ = json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("POST = %d %s, want %d %s mentioning %q", resp.StatusCode, body, tc.status, tc.code, tc.msg)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") == "" {
				t.Fatal("a refusal without CORS headers: a player on another origin cannot read why")
			}
			if tc.status == 400 && g.Admits() != before {
				t.Fatal("an invalid screen reached the gate")
			}
			if r.sfu.Viewers() != 0 {
				t.Fatalf("a refused offer holds a viewer slot: %d", r.sfu.Viewers())
			}
		})
	}

	t.Run("gate failure is 503", func(t *testing.T) {
		want.GateFailures++
		g.SetFail(accesstest.ErrStoreDown)
		defer g.SetFail(nil)
		resp, body := wheptest.DoRequest(t, http.MethodPost, r.srv.URL+"/whep/gig1", "application/sdp", good, bearer("tk_good"))
		var e apiError
		_ = json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || strings.Contains(body, "connection refused") {
			t.Fatalf("POST while the gate fails = %d %s, want 503 unavailable without the store's error", resp.StatusCode, body)
		}
		if r.sfu.Viewers() != 0 {
			t.Fatalf("viewer slot held: %d", r.sfu.Viewers())
		}
	})

	t.Run("ticket plays, cap holds, delete releases once", func(t *testing.T) {
		v, code, body := r.watchAs(t, viewerOpts{}, "/whep/gig1?screen=tv-1_A", bearer("tk_good"))
		if code != http.StatusCreated {
			t.Fatalf("POST with a ticket = %d %s", code, body)
		}
		pass, req := g.Last()
		if req.GigID != "gig1" || req.Credential != "tk_good" || req.Kind != access.Media || req.Screen != "tv-1_A" {
			t.Fatalf("gate asked %+v", req)
		}
		wheptest.WaitFor(t, 10*time.Second, "video and audio", func() bool {
			video, audio := v.Snapshot()
			return len(video) > 0 && len(audio) > 0
		})
		// At the cap the second ticket is turned away before the gate, so
		// the gate's one-screen rule never ends a screen for nothing.
		n := g.Admits()
		resp, body := wheptest.DoRequest(t, http.MethodPost, r.srv.URL+"/whep/gig1", "application/sdp", good, bearer("tk_other"))
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "viewer_cap") {
			t.Fatalf("POST over the cap = %d %s, want 503 viewer_cap", resp.StatusCode, body)
		}
		if g.Admits() != n || pass.Err() != nil {
			t.Fatal("an offer refused by the cap was admitted by the gate")
		}
		if resp, _ := wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+v.Location, "", "", nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE = %d", resp.StatusCode)
		}
		wheptest.WaitFor(t, 2*time.Second, "pass released", func() bool { return g.Releases(pass) == 1 })
		time.Sleep(100 * time.Millisecond)
		if g.Releases(pass) != 1 || r.sfu.Viewers() != 0 {
			t.Fatalf("after DELETE: released %d times, %d sessions", g.Releases(pass), r.sfu.Viewers())
		}
	})

	for _, cause := range []error{access.ErrWatchingElsewhere, access.ErrTicketRevoked} {
		t.Run("pass ends: "+access.Code(cause), func(t *testing.T) {
			want.TicketEnded++
			wheptest.WaitFor(t, 3*time.Second, "free slot", func() bool { return r.sfu.Viewers() == 0 })
			v, code, body := r.watchAs(t, viewerOpts{}, "/whep/gig1", bearer("tk_good"))
			if code != http.StatusCreated {
				t.Fatalf("POST with a ticket = %d %s", code, body)
			}
			pass, _ := g.Last()
			wheptest.WaitFor(t, 10*time.Second, "video", func() bool { video, _ := v.Snapshot(); return len(video) > 20 })
			start := time.Now()
			pass.End(cause)
			wheptest.WaitFor(t, 2*time.Second, "session closed", func() bool { return r.sfu.Viewers() == 0 })
			t.Logf("session closed %v after the pass ended", time.Since(start).Round(time.Millisecond))
			video, _ := v.Snapshot()
			time.Sleep(500 * time.Millisecond)
			if after, _ := v.Snapshot(); len(after) != len(video) {
				t.Fatalf("%d video packets arrived after the session closed", len(after)-len(video))
			}
			if g.Releases(pass) != 1 {
				t.Fatalf("pass released %d times, want 1", g.Releases(pass))
			}
			if resp, _ := wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+v.Location, "", "", nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("DELETE of the ended session = %d, want 404", resp.StatusCode)
			}
		})
	}

	t.Run("open gig plays without a ticket", func(t *testing.T) {
		g.SetTicketed("gig1", false)
		defer g.SetTicketed("gig1", true)
		wheptest.WaitFor(t, 3*time.Second, "free slot", func() bool { return r.sfu.Viewers() == 0 })
		v := r.watch(t, viewerOpts{})
		wheptest.WaitFor(t, 10*time.Second, "video", func() bool { video, _ := v.Snapshot(); return len(video) > 0 })
		wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+v.Location, "", "", nil)
	})

	c := r.sfu.Counters()
	if c.TicketRefused != want.TicketRefused || c.GateFailures != want.GateFailures || c.TicketEnded != want.TicketEnded {
		t.Fatalf("counters %+v: want %d refused, %d gate failures, %d ended", c, want.TicketRefused, want.GateFailures, want.TicketEnded)
	}
}

// TestWHEPPassEndsSessionWithoutLeaks: a session closed by its pass frees
// everything it held, and the server's Close afterwards leaves no goroutine
// behind (no ffmpeg: a stream without frames is enough to connect).
func TestWHEPPassEndsSessionWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	reg := media.NewRegistry(media.RegistryConfig{}, nil)
	st := media.NewStream(media.StreamConfig{GigID: "gig1", Source: "test"}, nil)
	if err := reg.Publish(st); err != nil {
		t.Fatal(err)
	}
	g := accesstest.NewGate("gig1")
	s, err := sfu.New(sfu.Config{ICEAddr: "127.0.0.1:0", Gate: g, AllowPrivateCandidates: true}, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	connect := func() (*webrtc.PeerConnection, *access.Pass) {
		c := wheptest.NewClient(t, viewerOpts{})
		resp, answer := wheptest.DoRequest(t, http.MethodPost, srv.URL+"/whep/gig1", "application/sdp", c.Offer, bearer("tk_good"))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST = %d %s", resp.StatusCode, answer)
		}
		if err := c.SetAnswer(answer); err != nil {
			t.Fatal(err)
		}
		p, _ := g.Last()
		return c.PC, p
	}
	pc1, p1 := connect()
	wheptest.WaitFor(t, 10*time.Second, "connected viewer", func() bool { return st.Viewers() == 1 })
	p1.End(access.ErrWatchingElsewhere)
	wheptest.WaitFor(t, 2*time.Second, "session closed by its pass", func() bool { return s.Viewers() == 0 && st.Viewers() == 0 })
	wheptest.WaitFor(t, time.Second, "pass released", func() bool { return g.Releases(p1) == 1 })
	wheptest.WaitFor(t, 10*time.Second, "viewer sees the close", func() bool {
		s := pc1.ConnectionState()
		return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected
	})
	_ = pc1.Close()

	// A session the server closes releases its pass too.
	pc2, p2 := connect()
	wheptest.WaitFor(t, 10*time.Second, "connected viewer", func() bool { return st.Viewers() == 1 })
	s.Close()
	if g.Releases(p2) != 1 || g.Releases(p1) != 1 {
		t.Fatalf("after Close: passes released %d and %d times, want 1 each", g.Releases(p1), g.Releases(p2))
	}
	srv.Close()
	_ = pc2.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

package flv_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/access/accesstest"
	"github.com/bookmygig/bookmygig/flv"
)

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

func (e *env) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.url(testGig), "http") + query
}

// get starts an HTTP-FLV request with the extra headers hdr.
func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// playsFLV reads the start of a stream: file header, metadata, sequence
// headers, a keyframe.
func playsFLV(t *testing.T, body io.Reader) {
	t.Helper()
	readFileHeader(t, body)
	checkStart(t, func() flvTag {
		tg, err := readTag(body)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	})
}

func TestTicketGate(t *testing.T) {
	g := accesstest.NewGate(testGig)
	e := newEnv(t, flv.Config{Gate: g})
	e.publish(t)
	var want flv.Counters // the gate's counters the subtests that ran expect

	refusals := []struct {
		name, query string
		hdr         map[string]string
		status      int
		code, msg   string
	}{
		{"no ticket", "", nil, 401, "ticket_required", "POST /api/gigs/" + testGig + "/tickets"},
		{"wrong ticket", "?ticket=tk_forged", nil, 401, "invalid_ticket", "POST /api/gigs/" + testGig + "/tickets"},
		{"wrong bearer", "", map[string]string{"Authorization": "Bearer tk_forged"}, 401, "invalid_ticket", "?ticket=<ticket>"},
		{"bad screen", "?ticket=tk_good&screen=a.b", nil, 400, "validation_failed", "screen"},
		{"long screen", "?ticket=tk_good&screen=" + strings.Repeat("x", 65), nil, 400, "validation_failed", "64"},
	}
	for _, tc := range refusals {
		check := func(t *testing.T, resp *http.Response) {
			t.Helper()
			var body apiError
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || !strings.Contains(body.Error.Message, tc.msg) {
				t.Fatalf("%d %+v, want %d %s mentioning %q", resp.StatusCode, body.Error, tc.status, tc.code, tc.msg)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("refusal without CORS: a player on another origin cannot read why")
			}
		}
		if tc.status == 401 {
			want.TicketRefused += 2 // HTTP and WS
		}
		t.Run("http "+tc.name, func(t *testing.T) {
			check(t, get(t, e.url(testGig)+tc.query, tc.hdr))
		})
		t.Run("ws "+tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.hdr {
				h.Set(k, v)
			}
			c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(tc.query), h)
			if err == nil {
				c.Close()
				t.Fatal("the WebSocket was upgraded")
			}
			if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
				t.Fatalf("dial: %v", err)
			}
			check(t, resp)
		})
	}
	if e.flv.Viewers() != 0 {
		t.Fatalf("%d viewers after refusals", e.flv.Viewers())
	}

	t.Run("gate failure is 503", func(t *testing.T) {
		want.GateFailures++
		g.SetFail(accesstest.ErrStoreDown)
		defer g.SetFail(nil)
		resp := get(t, e.url(testGig)+"?ticket=tk_good", nil)
		var body apiError
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusServiceUnavailable || body.Error.Code != "unavailable" || strings.Contains(body.Error.Message, "refused") {
			t.Fatalf("%d %+v, want 503 unavailable without the store's error", resp.StatusCode, body.Error)
		}
	})

	t.Run("ticket plays; leaving releases once", func(t *testing.T) {
		for _, c := range []struct {
			name, query string
			hdr         map[string]string
		}{
			{"query", "?ticket=tk_good&screen=tv-1_A", nil},
			{"bearer", "?screen=tv-1_A", map[string]string{"Authorization": "Bearer tk_good"}},
		} {
			resp := get(t, e.url(testGig)+c.query, c.hdr)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", c.name, resp.StatusCode)
			}
			playsFLV(t, bufio.NewReader(resp.Body))
			pass, req := g.Last()
			if req.GigID != testGig || req.Credential != "tk_good" || req.Kind != access.Media || req.Screen != "tv-1_A" {
				t.Fatalf("%s: gate asked %+v", c.name, req)
			}
			resp.Body.Close()
			waitFor(t, 3*time.Second, c.name+": pass released", func() bool { return g.Releases(pass) == 1 && e.flv.Viewers() == 0 })
		}

		c, _, err := websocket.DefaultDialer.Dial(e.wsURL("?ticket=tk_good"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		pass, _ := g.Last()
		c.Close()
		waitFor(t, 3*time.Second, "ws pass released", func() bool { return g.Releases(pass) == 1 && e.flv.Viewers() == 0 })
		time.Sleep(100 * time.Millisecond)
		if g.Releases(pass) != 1 {
			t.Fatalf("released %d times", g.Releases(pass))
		}
	})

	t.Run("head admits and releases at once", func(t *testing.T) {
		want.TicketRefused++
		resp, err := http.Head(e.url(testGig) + "?ticket=tk_good")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pass, _ := g.Last()
		if resp.StatusCode != http.StatusOK || g.Releases(pass) != 1 {
			t.Fatalf("HEAD %d, released %d times", resp.StatusCode, g.Releases(pass))
		}
		resp, err = http.Head(e.url(testGig))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("HEAD without a ticket = %d", resp.StatusCode)
		}
	})

	for _, cause := range []error{access.ErrWatchingElsewhere, access.ErrTicketRevoked} {
		t.Run("http pass ends: "+access.Code(cause), func(t *testing.T) {
			want.TicketEnded++
			resp := get(t, e.url(testGig)+"?ticket=tk_good", nil)
			body := bufio.NewReader(resp.Body)
			playsFLV(t, body)
			pass, _ := g.Last()
			start := time.Now()
			pass.End(cause)
			done := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, body); close(done) }()
			select {
			case <-done:
				t.Logf("response ended %v after the pass", time.Since(start).Round(time.Millisecond))
			case <-time.After(2 * time.Second):
				t.Fatal("HTTP-FLV response still open 2 s after the pass ended")
			}
			waitFor(t, time.Second, "viewer gone, pass released", func() bool { return e.flv.Viewers() == 0 && g.Releases(pass) == 1 })
		})
	}

	t.Run("ws pass ends with close 4001", func(t *testing.T) {
		want.TicketEnded++
		c, _, err := websocket.DefaultDialer.Dial(e.wsURL("?ticket=tk_good"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < 5; i++ {
			if _, _, err := c.ReadMessage(); err != nil {
				t.Fatal(err)
			}
		}
		pass, _ := g.Last()
		start := time.Now()
		pass.End(access.ErrTicketRevoked)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "ticket_revoked" {
				t.Fatalf("WS-FLV ended with %v, want close 4001 ticket_revoked", err)
			}
			break
		}
		t.Logf("close frame %v after the pass ended", time.Since(start).Round(time.Millisecond))
		waitFor(t, 2*time.Second, "viewer gone, pass released", func() bool { return e.flv.Viewers() == 0 && g.Releases(pass) == 1 })
	})

	// (The kernel's send buffer may still take the stream's first second:
	// TestPassWatchCutsStuckWrite covers a write that is really stuck.)
	t.Run("slow reader is cut off when its pass ends", func(t *testing.T) {
		want.TicketEnded++
		stalledReader(t, e.url(testGig)+"?ticket=tk_good")
		waitFor(t, 3*time.Second, "stalled viewer connected", func() bool { return e.flv.Viewers() == 1 })
		pass, _ := g.Last()
		time.Sleep(time.Second) // its socket fills and the write blocks
		start := time.Now()
		pass.End(access.ErrWatchingElsewhere)
		waitFor(t, 2*time.Second, "stalled viewer gone", func() bool { return e.flv.Viewers() == 0 })
		t.Logf("stalled viewer gone %v after the pass ended", time.Since(start).Round(time.Millisecond))
		waitFor(t, time.Second, "pass released", func() bool { return g.Releases(pass) == 1 })
	})

	t.Run("open gig plays without a ticket", func(t *testing.T) {
		g.SetTicketed(testGig, false)
		defer g.SetTicketed(testGig, true)
		resp := get(t, e.url(testGig), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		playsFLV(t, bufio.NewReader(resp.Body))
	})

	c := e.flv.Counters()
	if c.TicketRefused != want.TicketRefused || c.GateFailures != want.GateFailures || c.TicketEnded != want.TicketEnded || c.Stalled != 0 {
		t.Fatalf("counters %+v: want %d refused, %d gate failures, %d ended, none stalled", c, want.TicketRefused, want.GateFailures, want.TicketEnded)
	}
}

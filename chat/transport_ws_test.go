package chat

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/internal/httperr"
)

// TestPingKeepalive: a client that answers pings stays; one whose reader is
// stuck (no pongs) is dropped after two ping intervals; the server answers
// a client's ping.
func TestPingKeepalive(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval = 100 * time.Millisecond
	n := newNode(t, cfg, nil)
	alive := dial(t, n, "g1") // its reader goroutine answers pings
	alive.join("Alive")

	stuck, _, err := websocket.DefaultDialer.Dial(n.wsURL("g1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	_ = stuck.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","name":"Stuck"}`))
	waitFor(t, 2*time.Second, "both joined", func() bool {
		r := n.hub.roomOf("g1")
		return r != nil && r.members.Len() == 2
	})
	// stuck never reads again, so it never sees a ping nor answers one.
	waitFor(t, 2*time.Second, "stuck client dropped", func() bool {
		return n.hub.roomOf("g1").members.Len() == 1
	})

	pong := make(chan string, 1)
	alive.conn.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := alive.conn.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-pong:
		if s != "hi" {
			t.Fatalf("pong payload %q", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no pong for the client's ping")
	}
	time.Sleep(3 * cfg.PingInterval)
	alive.say("still connected")
	alive.skipTo("message")
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clientIP func(*http.Request) string
		remote   string
		want     string
	}{
		{"peer", nil, "192.0.2.1:5000", "192.0.2.1"},
		{"peer v6", nil, "[2001:db8::1]:5000", "2001:db8::1"},
		{"resolver", func(*http.Request) string { return "203.0.113.9" }, "10.0.0.1:1", "203.0.113.9"},
		{"resolver without answer", func(*http.Request) string { return "" }, "10.0.0.1:1", "10.0.0.1"},
	} {
		h := &Hub{cfg: Config{ClientIP: tc.clientIP}}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if got := h.clientIP(r); got != tc.want {
			t.Errorf("%s: clientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Requests refused before the upgrade get the JSON error body.
func TestServeWSRefusalsAreJSON(t *testing.T) {
	h, err := New(testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chat/{id}", h.ServeWS)
	mux.HandleFunc("GET /chat/", h.ServeWS)
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"no gig", "/chat/", http.StatusBadRequest, codeBadRequest},
		{"not a websocket", "/chat/g1", http.StatusBadRequest, codeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			var body httperr.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body.Error.Code != tc.code {
				t.Fatalf("%d %q (%v), want %d %s", rec.Code, rec.Body, err, tc.status, tc.code)
			}
		})
	}
	_ = h.Close()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/chat/g1", nil))
	var body httperr.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable || body.Error.Code != codeUnavailable {
		t.Fatalf("closed hub: %d %q (%v)", rec.Code, rec.Body, err)
	}
}

package flv_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/flv"
)

// clientHeader names the client address in these tests, as a trusted
// proxy's X-Forwarded-For would: every client really is on 127.0.0.1.
const clientHeader = "X-Test-Client"

func clientFromHeader(r *http.Request) string {
	if c := r.Header.Get(clientHeader); c != "" {
		return c
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return host
}

func errorCodeOf(t *testing.T, r io.Reader) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	return body.Error.Code
}

// TestViewerCapsPerGigAndAddress: FLV and WS-FLV viewers count together
// against MaxViewers per gig (503 viewer_cap) and MaxViewersPerIP per client
// address (429 too_many_connections); a viewer that leaves frees both slots.
func TestViewerCapsPerGigAndAddress(t *testing.T) {
	e := newEnv(t, flv.Config{MaxViewers: 3, MaxViewersPerIP: 2, ClientIP: clientFromHeader})
	e.publish(t)

	play := func(client string) *http.Response {
		t.Helper()
		resp := get(t, e.url(testGig), map[string]string{clientHeader: client})
		if resp.StatusCode == http.StatusOK {
			readFileHeader(t, resp.Body)
		}
		return resp
	}
	playWS := func(client string) (*websocket.Conn, *http.Response) {
		t.Helper()
		c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(""), http.Header{clientHeader: {client}})
		if err != nil {
			return nil, resp
		}
		t.Cleanup(func() { c.Close() })
		if _, msg, err := c.ReadMessage(); err != nil || len(msg) != 13 {
			t.Fatalf("ws-flv header: %d bytes, %v", len(msg), err)
		}
		return c, resp
	}

	a1 := play("203.0.113.1")
	if a1.StatusCode != http.StatusOK {
		t.Fatalf("first viewer: %d", a1.StatusCode)
	}
	if c, resp := playWS("203.0.113.1"); c == nil {
		t.Fatalf("second viewer (ws-flv): %v", resp)
	}
	a3 := play("203.0.113.1")
	if a3.StatusCode != http.StatusTooManyRequests || a3.Header.Get("Retry-After") == "" || errorCodeOf(t, a3.Body) != "too_many_connections" {
		t.Fatalf("third connection from one address: %d %q", a3.StatusCode, a3.Header.Get("Retry-After"))
	}
	if c, resp := playWS("203.0.113.1"); c != nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection from one address over ws-flv: %v", resp)
	}
	if b := play("198.51.100.2"); b.StatusCode != http.StatusOK {
		t.Fatalf("another address: %d", b.StatusCode)
	}
	// The gig has its 3.
	c := play("192.0.2.3")
	if c.StatusCode != http.StatusServiceUnavailable || errorCodeOf(t, c.Body) != "viewer_cap" {
		t.Fatalf("viewer over the gig's cap: %d", c.StatusCode)
	}
	if ws, resp := playWS("192.0.2.3"); ws != nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ws-flv viewer over the gig's cap: %v", resp)
	}
	if n := e.flv.Counters(); n.ViewerCapHits != 2 || n.AddrCapHits != 2 {
		t.Fatalf("counters %+v", n)
	}

	// The first viewer leaves: its address and the gig have a slot again.
	a1.Body.Close()
	var again *http.Response
	waitFor(t, 5*time.Second, "a freed slot", func() bool {
		again = play("203.0.113.1")
		if again.StatusCode == http.StatusOK {
			return true
		}
		again.Body.Close()
		return false
	})
	if e.flv.Viewers() != 3 {
		t.Fatalf("%d viewers, want 3", e.flv.Viewers())
	}
}

// TestViewerCapsDefaults: without settings a gig takes 1000 viewers and one
// address 10, so an 11th connection from one address is refused.
func TestViewerCapsDefaults(t *testing.T) {
	e := newEnv(t, flv.Config{ClientIP: clientFromHeader})
	e.publish(t)
	for i := range 10 {
		if resp := get(t, e.url(testGig), map[string]string{clientHeader: fmt.Sprintf("2001:db8:5::%x", i+1)}); resp.StatusCode != http.StatusOK {
			t.Fatalf("viewer %d: %d", i+1, resp.StatusCode)
		}
	}
	// Same /64.
	if resp := get(t, e.url(testGig), map[string]string{clientHeader: "2001:db8:5::ffff"}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th viewer from one /64: %d, want 429", resp.StatusCode)
	}
	if resp := get(t, e.url(testGig), map[string]string{clientHeader: "2001:db8:6::1"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("viewer from another /64: %d", resp.StatusCode)
	}
}

// TestCORSPerOrigin: with a list of origins, each request's Origin is
// checked like the API does: a listed one is echoed (with Vary: Origin),
// another gets no CORS header and cannot open WS-FLV.
func TestCORSPerOrigin(t *testing.T) {
	e := newEnv(t, flv.Config{CORSOrigins: []string{"https://a.example", "https://b.example"}})
	e.publish(t)
	for _, method := range []string{http.MethodGet, http.MethodOptions} {
		for origin, want := range map[string]string{
			"https://a.example":    "https://a.example",
			"https://b.example":    "https://b.example",
			"https://evil.example": "",
		} {
			req, _ := http.NewRequest(method, e.http.URL+"/live/nobody.flv", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "GET")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("%s from %s: Access-Control-Allow-Origin %q, want %q", method, origin, got, want)
			}
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("%s from %s: no Vary: Origin", method, origin)
			}
		}
	}
	ws := func(origin string) int {
		c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(""), http.Header{"Origin": {origin}})
		if err == nil {
			c.Close()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("ws dial from %s: %v", origin, err)
		}
		return resp.StatusCode
	}
	if got := ws("https://b.example"); got != http.StatusSwitchingProtocols {
		t.Errorf("ws-flv from a listed origin: %d", got)
	}
	if got := ws("https://evil.example"); got != http.StatusForbidden {
		t.Errorf("ws-flv from another origin: %d, want 403", got)
	}
}

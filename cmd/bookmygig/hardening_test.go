package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"

	"github.com/gorilla/websocket"
)

// TestPprofHidesTheCommandLine: with --pprof on, the profiling endpoints
// never show the command line, which carries the TURN (and Redis)
// passwords.
func TestPprofHidesTheCommandLine(t *testing.T) {
	const secret = "s3cretTurnPassw0rd"
	n := startNode(t, "--pprof", "true", "--ice-servers", "turn:alice:"+secret+"@127.0.0.1:3478")
	for _, path := range []string{"/debug/pprof/cmdline", "/debug/pprof/", "/debug/pprof/cmdline?debug=1"} {
		resp, err := http.Get(n.HTTP + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), secret) {
			t.Fatalf("%s shows the command line's secret", path)
		}
		if strings.HasPrefix(path, "/debug/pprof/cmdline") && resp.StatusCode == http.StatusOK {
			t.Fatalf("%s answered 200", path)
		}
	}
	n.assertLogsFree(t, secret)
}

// TestChatRefusesUnknownGigs: chat for a gig that does not exist is refused
// before the WebSocket upgrade (no room or history is made for it).
func TestChatRefusesUnknownGigs(t *testing.T) {
	n := startNode(t)
	url := "ws" + strings.TrimPrefix(n.HTTP, "http") + "/api/gigs/aaaaaaaaaaaaaaaa/chat"
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("chat for an unknown gig: %v %v", err, resp)
	}
	g := n.createGig(t, "Real gig")
	c := n.chat(t, g.ID)
	c.join("Ann", nil)
}

// TestGigCreationIsLimitedPerClientBehindAProxy: behind a trusted proxy
// (the test's loopback connection), each forwarded client address gets its
// own gig-creation budget, counted across both nodes of one Redis; a client
// over it gets 429 rate_limited with Retry-After while another client
// behind the same proxy still creates gigs. An untrusted peer cannot pick
// its address with X-Forwarded-For.
func TestGigCreationIsLimitedPerClientBehindAProxy(t *testing.T) {
	rds := redistest.Start(t)
	args := []string{"--redis", rds.URL(), "--trusted-proxies", "127.0.0.1/32", "--gig-create-limit", "3/1m"}
	a := startNode(t, append(args, "--node-id", "node-a")...)
	b := startNode(t, append(args, "--node-id", "node-b")...)
	create := func(n *node, forwarded string) *http.Response {
		start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		body := `{"creator_name":"Flood","title":"Spam","category":"Comedy","starts_at":"` + start.Format(time.RFC3339) +
			`","ends_at":"` + start.Add(time.Hour).Format(time.RFC3339) + `"}`
		req, _ := http.NewRequest(http.MethodPost, n.HTTP+"/api/gigs", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwarded)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i, n := range []*node{a, b, a} {
		if r := create(n, "198.51.100.7"); r.StatusCode != http.StatusCreated {
			t.Fatalf("creation %d: %d", i+1, r.StatusCode)
		}
	}
	r := create(b, "198.51.100.7")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("4th creation from one client over two nodes: %d (Retry-After %q)", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := create(a, "203.0.113.50"); r.StatusCode != http.StatusCreated {
		t.Fatalf("another client behind the same proxy: %d", r.StatusCode)
	}
}

package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

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

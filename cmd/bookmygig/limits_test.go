package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
)

// TestLimitsFromFlags: each outside-facing limit set by a flag refuses with
// a clear error, and the server keeps serving everyone else.
func TestLimitsFromFlags(t *testing.T) {
	n := startNode(t,
		"--max-body-bytes", "2048",
		"--max-sdp-bytes", "2048",
		"--chat-max-conns-per-ip", "2",
		"--chat-rate-burst", "2", "--chat-rate-window", "10s",
		"--chat-max-text-chars", "20",
		"--rtmp-max-conns", "3", "--rtmp-handshake-timeout", "1s",
		"--http-header-timeout", "1s",
	)
	g := n.createGig(t, "Limits")
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	// JSON body over --max-body-bytes: 413 in the one error shape.
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if code := n.do(t, http.MethodPatch, "/api/gigs/"+g.ID, g.Credentials.ManageToken,
		map[string]any{"description": strings.Repeat("x", 4000)}, &e); code != http.StatusRequestEntityTooLarge || e.Error.Message == "" {
		t.Fatalf("oversized body: %d %+v", code, e)
	}

	// SDP over --max-sdp-bytes: 413.
	resp, err := http.Post(n.HTTP+"/whep/"+g.ID, "application/sdp", strings.NewReader("v=0\r\n"+strings.Repeat("a=x\r\n", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "sdp_too_large") {
		t.Fatalf("oversized SDP: %d %s", resp.StatusCode, body)
	}

	// Chat: two connections per address, two messages per window, 20
	// characters per message.
	one, two := n.chat(t, g.ID), n.chat(t, g.ID)
	one.join("One", nil)
	two.join("Two", nil)
	three := n.chat(t, g.ID)
	if m := three.next("error", 5*time.Second); m["code"] != "too_many_connections" {
		t.Fatalf("third connection from one address: %v", m)
	}
	one.send(map[string]any{"type": "message", "text": strings.Repeat("long", 6)})
	if m := one.next("error", 5*time.Second); m["code"] != "invalid_text" {
		t.Fatalf("24-character message: %v", m)
	}
	for i := 0; i < 3; i++ {
		one.send(map[string]any{"type": "message", "text": "hi"})
	}
	if m := one.next("error", 5*time.Second); m["code"] != "rate_limited" {
		t.Fatalf("third message in the window: %v", m)
	}
	if m := two.next("message", 5*time.Second); m["text"] != "hi" {
		t.Fatalf("the other chatter: %v", m)
	}

	// RTMP: the publisher and two half-open clients fill --rtmp-max-conns;
	// one more is closed at once, and the half-open ones after the
	// handshake timeout, while the show goes on.
	rtmpAddr := strings.TrimSuffix(strings.TrimPrefix(n.RTMP, "rtmp://"), "/live")
	var idle []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", rtmpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	time.Sleep(200 * time.Millisecond)
	extra, err := net.Dial("tcp", rtmpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedWithin(extra, 2*time.Second) {
		t.Fatal("a connection over --rtmp-max-conns was not closed")
	}
	for _, c := range idle {
		if !closedWithin(c, 3*time.Second) {
			t.Fatal("a client that never finished the RTMP handshake was not closed")
		}
	}

	// Slowloris: headers that never finish are cut off after the timeout.
	slow, err := net.Dial("tcp", strings.TrimPrefix(n.HTTP, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_, _ = slow.Write([]byte("GET /api/gigs HTTP/1.1\r\nHost: x\r\n"))
	if !closedWithin(slow, 4*time.Second) {
		t.Fatal("an HTTP client that never finished its headers was not closed")
	}

	// Everyone else is still served, and the show is still live.
	if got := n.gig(t, g.ID); got.Title != "Limits" || got.Status != "live" {
		t.Fatalf("after the limits: %+v", got)
	}
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return true
	}
}

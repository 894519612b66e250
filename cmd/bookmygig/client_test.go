package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// gigCreated is the part of POST /api/gigs the tests use.
type gigCreated struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Credentials struct {
		StreamKey   string `json:"stream_key"`
		ManageToken string `json:"manage_token"`
		RTMPURL     string `json:"rtmp_url"`
		WHIPPath    string `json:"whip_path"`
	} `json:"credentials"`
}

type gigView struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Status  string `json:"status"`
	Viewers int    `json:"viewers"`
}

// do sends a JSON request and decodes a JSON answer into out (if non-nil).
func (n *node) do(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.HTTP+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// createGig lists a free, open gig starting in an hour and returns it with
// its secrets.
func (n *node) createGig(t *testing.T, title string) gigCreated {
	t.Helper()
	return n.createGigWith(t, title, nil)
}

// createGigWith lists a gig with extra fields (price_minor, access,
// capacity...) over the free, open defaults.
func (n *node) createGigWith(t *testing.T, title string, extra map[string]any) gigCreated {
	t.Helper()
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	in := map[string]any{
		"creator_name": "Asha", "title": title, "description": "A test show",
		"category": "Comedy", "price_minor": 0,
		"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(90 * time.Minute).Format(time.RFC3339),
	}
	for k, v := range extra {
		in[k] = v
	}
	var g gigCreated
	code := n.do(t, http.MethodPost, "/api/gigs", "", in, &g)
	if code != http.StatusCreated || g.ID == "" || g.Credentials.StreamKey == "" {
		t.Fatalf("create gig: %d %+v", code, g)
	}
	return g
}

func (n *node) gig(t *testing.T, id string) gigView {
	t.Helper()
	var g gigView
	if code := n.do(t, http.MethodGet, "/api/gigs/"+id, "", nil, &g); code != http.StatusOK {
		t.Fatalf("get gig %s: %d", id, code)
	}
	return g
}

// waitStatus waits until the gig has the status.
func (n *node) waitStatus(t *testing.T, id, status string, d time.Duration) {
	t.Helper()
	waitFor(t, d, "gig "+status, func() bool { return n.gig(t, id).Status == status })
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chatClient is a WebSocket chat participant.
type chatClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan map[string]any
	closed chan struct{}
}

func (n *node) chat(t *testing.T, gigID string) *chatClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(n.HTTP, "http") + "/api/gigs/" + gigID + "/chat"
	c, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("chat dial: %v (%v)", err, resp)
	}
	cc := &chatClient{t: t, c: c, frames: make(chan map[string]any, 1000), closed: make(chan struct{})}
	go func() {
		defer close(cc.closed)
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				cc.frames <- m
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return cc
}

func (cc *chatClient) send(v map[string]any) {
	cc.t.Helper()
	if err := cc.c.WriteJSON(v); err != nil {
		cc.t.Fatalf("chat send: %v", err)
	}
}

// next returns the next frame of type typ, skipping others.
func (cc *chatClient) next(typ string, d time.Duration) map[string]any {
	cc.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-cc.frames:
			if m["type"] == typ {
				return m
			}
		case <-cc.closed:
			// Frames read before the close still count.
			for {
				select {
				case m := <-cc.frames:
					if m["type"] == typ {
						return m
					}
				default:
					cc.t.Fatalf("chat closed while waiting for %q", typ)
				}
			}
		case <-deadline:
			cc.t.Fatalf("no %q chat frame within %s", typ, d)
		}
	}
}

// join joins as name and returns the user id.
func (cc *chatClient) join(name string, extra map[string]any) string {
	cc.t.Helper()
	m := map[string]any{"type": "join", "name": name}
	for k, v := range extra {
		m[k] = v
	}
	cc.send(m)
	j := cc.next("joined", 5*time.Second)
	return fmt.Sprint(j["user"])
}

package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/gorilla/websocket"
)

// chatVia dials the gig's chat as a client behind a reverse proxy at
// 127.0.0.1 that forwards the client's address in X-Forwarded-For.
func (n *node) chatVia(t *testing.T, gigID, clientAddr string) *chatClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(n.HTTP, "http") + "/api/gigs/" + gigID + "/chat"
	c, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"X-Forwarded-For": {clientAddr}})
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

// joinGuest joins with a guest token ("" for none) and returns the user id
// and the guest token to keep.
func (cc *chatClient) joinGuest(name, guest string) (user, token string) {
	cc.t.Helper()
	m := map[string]any{"type": "join", "name": name}
	if guest != "" {
		m["guest"] = guest
	}
	cc.send(m)
	j := cc.next("joined", 5*time.Second)
	token, _ = j["guest"].(string)
	if token == "" {
		cc.t.Fatalf("joined without a guest token: %v", j)
	}
	return j["user"].(string), token
}

// refusedBanned expects a join to be refused as banned.
func (cc *chatClient) refusedBanned(name, guest string) {
	cc.t.Helper()
	cc.send(map[string]any{"type": "join", "name": name, "guest": guest})
	if e := cc.next("error", 5*time.Second); e["code"] != "banned" {
		cc.t.Fatalf("join of %s: %v, want banned", name, e)
	}
}

// TestChatBehindTrustedProxy: two server processes on Redis behind a
// trusted proxy. Clients with different forwarded addresses are moderated
// independently, a muted guest who reconnects (to the other node) is still
// muted, and a ban refuses the banned guest and new identities from its
// address but nobody else.
func TestChatBehindTrustedProxy(t *testing.T) {
	rds := redistest.Start(t)
	args := []string{"--redis", rds.URL(), "--trusted-proxies", "127.0.0.1/32"}
	n1 := startNode(t, append(args, "--node-id", "node-1")...)
	n2 := startNode(t, append(args, "--node-id", "node-2")...)
	g := n1.createGig(t, "Proxy chat")

	creator := n1.chatVia(t, g.ID, "192.0.2.1")
	creator.join("Asha", map[string]any{"token": g.Credentials.ManageToken})
	ann := n1.chatVia(t, g.ID, "198.51.100.1")
	annID, annTok := ann.joinGuest("Ann", "")
	bob := n2.chatVia(t, g.ID, "198.51.100.2")
	bobID, bobTok := bob.joinGuest("Bob", "")
	if annID == bobID {
		t.Fatalf("two clients share the user id %s", annID)
	}

	creator.send(map[string]any{"type": "mute", "user": annID, "seconds": 300})
	ann.next("moderation", 5*time.Second)
	ann.send(map[string]any{"type": "message", "text": "muted?"})
	if e := ann.next("error", 5*time.Second); e["code"] != "muted" {
		t.Fatalf("muted Ann: %v", e)
	}
	bob.send(map[string]any{"type": "message", "text": "Bob is not muted"})
	if m := creator.next("message", 5*time.Second); m["text"] != "Bob is not muted" {
		t.Fatalf("creator got %v", m)
	}

	// Ann reconnects, to the other node: the same user, still muted.
	ann.c.Close()
	ann2 := n2.chatVia(t, g.ID, "198.51.100.1")
	if id, _ := ann2.joinGuest("Ann", annTok); id != annID {
		t.Fatalf("Ann reconnected as %s, was %s", id, annID)
	}
	ann2.send(map[string]any{"type": "message", "text": "still muted?"})
	if e := ann2.next("error", 5*time.Second); e["code"] != "muted" {
		t.Fatalf("Ann after reconnecting: %v", e)
	}

	// Banning Bob refuses Bob, and new identities from Bob's address...
	creator.send(map[string]any{"type": "ban", "user": bobID})
	if e := bob.next("error", 5*time.Second); e["code"] != "banned" {
		t.Fatalf("banned Bob: %v", e)
	}
	for _, n := range []*node{n1, n2} {
		n.chatVia(t, g.ID, "203.0.113.5").refusedBanned("Bob", bobTok)
		waitFor(t, 5*time.Second, "Bob's address banned on every node", func() bool {
			c := n.chatVia(t, g.ID, "198.51.100.2")
			c.send(map[string]any{"type": "join", "name": "Bob again"})
			for {
				select {
				case m := <-c.frames:
					switch m["type"] {
					case "error":
						return m["code"] == "banned"
					case "joined":
						c.c.Close()
						return false
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no answer to a join")
				}
			}
		})
		// ...but not anyone else behind the same proxy.
		cy := n.chatVia(t, g.ID, "203.0.113.9")
		cy.joinGuest("Cy", "")
		cy.send(map[string]any{"type": "message", "text": "Cy on " + n.HTTP})
		creator.next("message", 5*time.Second)
		ann3 := n.chatVia(t, g.ID, "198.51.100.1")
		ann3.joinGuest("Ann", annTok)
		ann3.c.Close()
	}
}

package main

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// TestTwoNodesShareOneRedis: two server processes on one redis-server. A
// gig listed on one is seen on the other; chatters on both see each
// other's messages exactly once and in order, with history; the creator's
// moderation on one node applies on the other; the viewer count adds up
// the FLV viewer of one node and the chatters of both.
func TestTwoNodesShareOneRedis(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	a := startNode(t, "--redis", rds.URL(), "--node-id", "node-a")
	b := startNode(t, "--redis", rds.URL(), "--node-id", "node-b")

	g := a.createGig(t, "Two-node show")
	if got := b.gig(t, g.ID); got.Title != "Two-node show" {
		t.Fatalf("node b sees %+v", got)
	}
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	b.waitStatus(t, g.ID, "live", 15*time.Second)

	ann := a.chat(t, g.ID)
	ann.join("Ann", nil)
	ben := b.chat(t, g.ID)
	benID := ben.join("Ben", nil)

	for _, text := range []string{"one", "two", "three"} {
		ann.send(map[string]any{"type": "message", "text": text})
		time.Sleep(700 * time.Millisecond) // under the 3-per-2-s rate limit
	}
	for _, want := range []string{"one", "two", "three"} {
		if m := ben.next("message", 5*time.Second); m["text"] != want || m["name"] != "Ann" {
			t.Fatalf("node b got %v, want %q from Ann", m, want)
		}
	}
	ben.send(map[string]any{"type": "message", "text": "hello from b"})
	var benMsgID string
	for {
		m := ann.next("message", 5*time.Second)
		if m["text"] == "hello from b" {
			benMsgID, _ = m["id"].(string)
			break
		}
	}
	// Exactly once: Ben sees his own message once, and nothing more.
	if m := ben.next("message", 5*time.Second); m["text"] != "hello from b" {
		t.Fatalf("node b: %v", m)
	}
	for _, c := range []*chatClient{ann, ben} {
		select {
		case m := <-c.frames:
			if m["type"] == "message" {
				t.Fatalf("duplicate or extra message: %v", m)
			}
		case <-time.After(time.Second):
		}
	}

	// A latecomer on node b gets the history written through node a.
	carl := b.chat(t, g.ID)
	carl.send(map[string]any{"type": "join", "name": "Carl"})
	h := carl.next("history", 5*time.Second)
	if msgs, _ := h["messages"].([]any); len(msgs) != 4 {
		t.Fatalf("history on node b has %d messages, want 4: %v", len(msgs), h)
	}

	// The creator moderates from node a: Ben's message is deleted for
	// everyone and Ben is muted on node b.
	mod := a.chat(t, g.ID)
	mod.join("Asha", map[string]any{"token": g.Credentials.ManageToken})
	mod.send(map[string]any{"type": "delete", "id": benMsgID})
	if d := ben.next("deleted", 5*time.Second); d["id"] != benMsgID {
		t.Fatalf("node b deleted %v", d)
	}
	mod.send(map[string]any{"type": "mute", "user": benID, "seconds": 60})
	ben.next("moderation", 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	ben.send(map[string]any{"type": "message", "text": "can I talk?"})
	if e := ben.next("error", 5*time.Second); e["code"] != "muted" {
		t.Fatalf("muted user on node b got %v", e)
	}

	// Viewers: an FLV player on node a plus four chatters (Ann, Ben, Carl,
	// Asha) on both nodes.
	resp, err := http.Get(a.HTTP + "/live/" + g.ID + ".flv")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	defer resp.Body.Close()
	go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body)) }()
	for _, n := range []*node{a, b} {
		waitFor(t, 20*time.Second, "5 viewers on "+n.HTTP, func() bool { return n.gig(t, g.ID).Viewers == 5 })
	}
	a.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
	b.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
}

// TestCrashedNodeGigEnds: the node streaming a show is killed (no chance to
// say anything); another node on the same Redis ends the gig once the dead
// node stops vouching for it, instead of leaving it "live" forever.
func TestCrashedNodeGigEnds(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	a := startNode(t, "--redis", rds.URL(), "--node-id", "node-a")
	b := startNode(t, "--redis", rds.URL(), "--node-id", "node-b")
	g := a.createGig(t, "Crash show")
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	b.waitStatus(t, g.ID, "live", 15*time.Second)
	// Past one renewal, so the lease is what keeps it live.
	time.Sleep(6 * time.Second)
	if st := b.gig(t, g.ID).Status; st != "live" {
		t.Fatalf("status while node a streams = %s", st)
	}

	a.kill()
	killed := time.Now()
	b.waitStatus(t, g.ID, "ended", leaseTTL+2*leaseEvery+5*time.Second)
	t.Logf("gig ended by node b %s after node a was killed", time.Since(killed).Round(time.Millisecond))
}

package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// TestRotateKeyEndsPublishOnEveryNode: a creator whose key leaked rotates
// it on another node than the one the hijacker publishes to. The hijacker's
// ffmpeg is disconnected within 2 s, the gig ends, ffmpeg cannot come back
// with the old key, and the creator goes live with the new one.
func TestRotateKeyEndsPublishOnEveryNode(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	a := startNode(t, "--redis", rds.URL(), "--node-id", "node-a")
	b := startNode(t, "--redis", rds.URL(), "--node-id", "node-b")
	g := a.createGig(t, "Leaked key")
	oldKey := g.Credentials.StreamKey
	hijacker := ingesttest.Publish(t, a.RTMP+"/"+oldKey, ingesttest.Options{})
	b.waitStatus(t, g.ID, "live", 15*time.Second)

	var rotated struct {
		StreamKey string `json:"stream_key"`
	}
	start := time.Now()
	if code := b.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/stream-key", g.Credentials.ManageToken, nil, &rotated); code != http.StatusOK || rotated.StreamKey == "" {
		t.Fatalf("rotate through node b: %d %+v", code, rotated)
	}
	if err := hijacker.Wait(t, 2*time.Second); err == nil {
		t.Fatal("the disconnected ffmpeg exited 0")
	}
	t.Logf("ffmpeg on node a disconnected %s after the rotation request to node b", time.Since(start).Round(time.Millisecond))
	b.waitStatus(t, g.ID, "ended", 3*time.Second)

	again := ingesttest.Publish(t, a.RTMP+"/"+oldKey, ingesttest.Options{})
	if err := again.Wait(t, 10*time.Second); err == nil {
		t.Fatal("ffmpeg with the old key exited 0")
	}
	if !strings.Contains(again.Stderr(), "Stream key not recognised") {
		t.Errorf("ffmpeg with the old key was not told why: %s", again.Stderr())
	}
	if st := a.gig(t, g.ID).Status; st != "ended" {
		t.Fatalf("status after the old key's retry = %s, want ended", st)
	}

	ingesttest.Publish(t, b.RTMP+"/"+rotated.StreamKey, ingesttest.Options{})
	a.waitStatus(t, g.ID, "live", 15*time.Second)
	for _, n := range []*node{a, b} {
		n.assertLogsFree(t, oldKey, rotated.StreamKey, g.Credentials.ManageToken)
	}
}

// TestEndShowEndsPublishOnEveryNode: POST /api/gigs/{id}/end through any
// node disconnects the publisher within 2 s and the gig is ended in the
// answer; a live gig can then be deleted. Without a key rotation the
// creator can go live again with the same key. On one node (embedded
// engine) and on two nodes sharing Redis.
func TestEndShowEndsPublishOnEveryNode(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	for _, engine := range []string{"memory", "redis"} {
		t.Run(engine, func(t *testing.T) {
			var a, b *node
			if engine == "memory" {
				a = startNode(t)
				b = a
			} else {
				rds := redistest.Start(t)
				a = startNode(t, "--redis", rds.URL(), "--node-id", "node-a")
				b = startNode(t, "--redis", rds.URL(), "--node-id", "node-b")
			}
			g := a.createGig(t, "Short show")
			tok := g.Credentials.ManageToken
			end := "/api/gigs/" + g.ID + "/end"
			if code := b.do(t, http.MethodPost, end, tok, nil, nil); code != http.StatusConflict {
				t.Fatalf("end before going live = %d, want 409", code)
			}
			pub := ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
			b.waitStatus(t, g.ID, "live", 15*time.Second)
			if code := b.do(t, http.MethodPost, end, "", nil, nil); code != http.StatusUnauthorized {
				t.Fatalf("end without the manage token = %d, want 401", code)
			}
			if pub.Exited() {
				t.Fatalf("an unauthorized end stopped ffmpeg: %s", pub.Stderr())
			}

			var ended gigView
			start := time.Now()
			if code := b.do(t, http.MethodPost, end, tok, nil, &ended); code != http.StatusOK || ended.Status != "ended" {
				t.Fatalf("end through node b: %d %+v, want 200 ended", code, ended)
			}
			if err := pub.Wait(t, 2*time.Second); err == nil {
				t.Fatal("the disconnected ffmpeg exited 0")
			}
			t.Logf("ffmpeg disconnected %s after the end request", time.Since(start).Round(time.Millisecond))
			if code := b.do(t, http.MethodPost, end, tok, nil, nil); code != http.StatusOK {
				t.Fatalf("second end = %d, want 200", code)
			}
			time.Sleep(500 * time.Millisecond) // a late status write must not bring "live" back
			if st := a.gig(t, g.ID).Status; st != "ended" {
				t.Fatalf("status on node a = %s, want ended", st)
			}

			// Same key, live again; then ended and deleted.
			ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
			b.waitStatus(t, g.ID, "live", 15*time.Second)
			if code := b.do(t, http.MethodDelete, "/api/gigs/"+g.ID, tok, nil, nil); code != http.StatusConflict {
				t.Fatalf("delete of a live gig = %d, want 409", code)
			}
			if code := b.do(t, http.MethodPost, end, tok, nil, nil); code != http.StatusOK {
				t.Fatalf("end of the second show = %d", code)
			}
			if code := b.do(t, http.MethodDelete, "/api/gigs/"+g.ID, tok, nil, nil); code != http.StatusNoContent {
				t.Fatalf("delete after end = %d, want 204", code)
			}
		})
	}
}

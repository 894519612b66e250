package main

import (
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/browsertest"
	"github.com/bookmygig/bookmygig/web"
)

// TestStudioEndsAHijackedShow: someone streams with the gig's leaked key
// (ffmpeg here); the creator clicks "End show" in the studio and the
// hijacker's connection is closed within 2 s, the gig is ended.
func TestStudioEndsAHijackedShow(t *testing.T) {
	if !web.Built() {
		t.Fatal("the web front-end is not built: run `make web` (or `make test`)")
	}
	ingesttest.RequireFFmpeg(t)
	browsertest.Require(t)
	n := startNode(t)
	g := n.createGig(t, "Hijacked")
	pub := ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	var r struct {
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	browser(t, 120*time.Second, &r, "web_studio_end.mjs", n.HTTP, artifacts(t), g.ID, g.Credentials.ManageToken)
	if !r.OK || r.Message != "The show has ended." || r.Status != "ended" {
		t.Fatalf("end show from the studio: %+v", r)
	}
	// ffmpeg exits with an error once the server closes its connection;
	// Wait fails the test if it still streams 2 s after the studio's answer.
	_ = pub.Wait(t, 2*time.Second)
}

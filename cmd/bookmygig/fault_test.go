package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// TestRedisOutageMidShow kills Redis during a live show on two nodes and
// brings it back: viewers keep watching, chat keeps working inside each
// node and resumes relaying between them, the API answers 503 quickly and
// then recovers, no acknowledged gig write is lost, and the show's end,
// which happened during the outage, is saved once Redis is back.
func TestRedisOutageMidShow(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.StartDurable(t)
	a := startNode(t, "--redis", rds.URL(), "--node-id", "node-a")
	b := startNode(t, "--redis", rds.URL(), "--node-id", "node-b")

	g := a.createGig(t, "Outage show")
	other := b.createGig(t, "Acknowledged before the outage")
	pub := ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	a.waitStatus(t, g.ID, "live", 15*time.Second)

	resp, err := http.Get(a.HTTP + "/live/" + g.ID + ".flv")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	defer resp.Body.Close()
	var flvBytes atomic.Int64
	go func() {
		r := bufio.NewReader(resp.Body)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			flvBytes.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	ann, carl := a.chat(t, g.ID), a.chat(t, g.ID)
	ann.join("Ann", nil)
	carl.join("Carl", nil)
	ben := b.chat(t, g.ID)
	ben.join("Ben", nil)

	rds.Stop()
	outage := time.Now()

	// The API says 503 at once instead of hanging.
	start := time.Now()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := a.do(t, http.MethodGet, "/api/gigs/"+g.ID, "", nil, &e); code != http.StatusServiceUnavailable {
		t.Fatalf("GET during the outage: %d %+v", code, e)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("GET during the outage took %s", took)
	}
	t.Logf("API answered 503 in %s during the outage", time.Since(start).Round(time.Millisecond))
	if code, _ := readyz(b); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the outage: %d", code)
	}

	// The FLV viewer keeps receiving the show.
	before := flvBytes.Load()
	time.Sleep(3 * time.Second)
	if got := flvBytes.Load() - before; got < 50_000 {
		t.Fatalf("FLV viewer got %d bytes in 3 s of Redis outage", got)
	}

	// Chat within a node carries on.
	ann.send(map[string]any{"type": "message", "text": "still here"})
	if m := carl.next("message", 5*time.Second); m["text"] != "still here" {
		t.Fatalf("chat within node a during the outage: %v", m)
	}

	// The creator's encoder stops while Redis is down.
	pub.Kill()
	time.Sleep(time.Second)

	rds.Restart(t)
	back := time.Now()
	for _, n := range []*node{a, b} {
		waitFor(t, 15*time.Second, "/readyz on "+n.HTTP, func() bool { code, _ := readyz(n); return code == http.StatusOK })
	}
	t.Logf("outage %s; API ready %s after Redis returned", back.Sub(outage).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))

	// Chat relays between nodes again (the first messages may race the
	// resubscription, so keep talking until Ben hears Ann).
	relayed := false
	for i := 0; i < 20 && !relayed; i++ {
		ann.send(map[string]any{"type": "message", "text": fmt.Sprintf("back %d", i)})
		deadline := time.After(time.Second)
	wait:
		for {
			select {
			case m := <-ben.frames:
				if m["type"] == "message" && m["name"] == "Ann" {
					relayed = true
					break wait
				}
			case <-deadline:
				break wait
			}
		}
		time.Sleep(300 * time.Millisecond) // stay under the rate limit
	}
	if !relayed {
		t.Fatal("chat relay between the nodes did not resume after Redis came back")
	}
	t.Logf("chat relay resumed %s after Redis returned", time.Since(back).Round(time.Millisecond))

	// Nothing acknowledged was lost, and the end of the show was saved.
	if got := b.gig(t, other.ID); got.Title != "Acknowledged before the outage" {
		t.Fatalf("gig written before the outage: %+v", got)
	}
	b.waitStatus(t, g.ID, "ended", 20*time.Second)
	a.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
	// The outage is logged once per component, not once per message or retry.
	if n := strings.Count(a.logs.String(), "gig status not saved yet"); n != 1 {
		t.Fatalf("the status writer logged the outage %d times", n)
	}
}

func readyz(n *node) (int, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(n.HTTP + "/readyz")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestPublisherRestartWithin5s: the creator's encoder crashes and is back
// 2 s later. The WebRTC viewer's session carries on (no new offer, sequence
// numbers without gaps), a new FLV request plays at once, and the gig's
// status follows: ended while nobody publishes, live again after.
func TestPublisherRestartWithin5s(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	n := startNode(t)
	g := n.createGig(t, "Flaky encoder")
	pub := ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)
	v := n.watchWHEP(t, g.ID)
	waitFor(t, 15*time.Second, "video", func() bool { return v.video.Load() > 100 })

	pub.Kill()
	down := time.Now()
	n.waitStatus(t, g.ID, "ended", 10*time.Second)
	t.Logf("status ended %s after the encoder died", time.Since(down).Round(time.Millisecond))
	time.Sleep(time.Until(down.Add(2 * time.Second)))
	before := v.video.Load()
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 10*time.Second)
	waitFor(t, 10*time.Second, "video on the same WebRTC session", func() bool { return v.video.Load() > before+100 })
	t.Logf("WebRTC viewer playing again %s after the encoder died; %d packets lost", time.Since(down).Round(time.Millisecond), v.lost.Load())
	if v.lost.Load() != 0 {
		t.Fatalf("the viewer's sequence numbers jumped by %d packets across the reconnect", v.lost.Load())
	}
	decodeFrames(t, n.HTTP+"/live/"+g.ID+".flv", 30)
}

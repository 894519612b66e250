package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/browsertest"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/bookmygig/bookmygig/web"
	"github.com/pion/webrtc/v4"
)

const testClusterSecret = "cluster-secret-for-tests-0123456789"

// startClusterNode runs a node of a cluster on rds.
func startClusterNode(t testing.TB, rds *redistest.Server, id string, extra ...string) *node {
	t.Helper()
	return startNode(t, append([]string{"--redis", rds.URL(), "--node-id", id, "--cluster-secret", testClusterSecret}, extra...)...)
}

type clusterState struct {
	Node  string `json:"node"`
	Nodes []struct {
		ID        string `json:"id"`
		PublicURL string `json:"public_url"`
		Viewers   int    `json:"viewers"`
		Relays    int    `json:"relays"`
	} `json:"nodes"`
	Gigs []struct {
		GigID  string `json:"gig_id"`
		Origin string `json:"origin"`
		Relays []struct {
			Node   string `json:"node"`
			Parent string `json:"parent"`
		} `json:"relays"`
	} `json:"gigs"`
}

func (n *node) cluster(t *testing.T) clusterState {
	t.Helper()
	var c clusterState
	if code := n.do(t, http.MethodGet, "/api/cluster", "", nil, &c); code != http.StatusOK {
		t.Fatalf("GET /api/cluster: %d", code)
	}
	return c
}

// relayTree returns the gig's origin and its relays as "child<-parent".
func (c clusterState) relayTree(gigID string) (string, []string) {
	for _, g := range c.Gigs {
		if g.GigID == gigID {
			var out []string
			for _, r := range g.Relays {
				out = append(out, r.Node+"<-"+r.Parent)
			}
			return g.Origin, out
		}
	}
	return "", nil
}

func (v *whepViewer) packets() int64 { return v.video.Load() }

// waitPlaying waits until v has video and audio flowing.
func (v *whepViewer) waitPlaying(t *testing.T, what string) {
	t.Helper()
	waitFor(t, 15*time.Second, what+" to receive video and audio", func() bool {
		return v.video.Load() > 30 && v.audio.Load() > 10
	})
}

// TestClusterRelaysGigAcrossNodes: three nodes on one Redis, the creator
// publishes to node A; viewers on B and C watch over WebRTC and HTTP-FLV
// (with audio) through one relay per edge; then A dies (kill -9), the
// encoder reconnects to B, and the WebRTC and FLV viewers on C go on with
// the same sessions and connections.
func TestClusterRelaysGigAcrossNodes(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	a := startClusterNode(t, rds, "node-a")
	b := startClusterNode(t, rds, "node-b")
	c := startClusterNode(t, rds, "node-c")

	g := a.createGig(t, "Cluster show")
	pub := ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Minute})
	a.waitStatus(t, g.ID, "live", 15*time.Second)

	// WebRTC viewers on both edges: the first request starts the relay,
	// the others share it.
	var onB, onC []*whepViewer
	for i := 0; i < 2; i++ {
		onB = append(onB, b.watchWHEP(t, g.ID))
		onC = append(onC, c.watchWHEP(t, g.ID))
	}
	for _, v := range append(append([]*whepViewer{}, onB...), onC...) {
		v.waitPlaying(t, "a WHEP viewer on an edge")
		if mime, _ := v.audioCodec.Load().(string); !strings.EqualFold(mime, webrtc.MimeTypeOpus) {
			t.Fatalf("edge viewer audio codec %q, want Opus", mime)
		}
	}
	// Legacy players on the edges get H.264 and the creator's AAC.
	for _, n := range []*node{b, c} {
		url := n.HTTP + "/live/" + g.ID + ".flv"
		got := strings.Join(probe(t, url), " ")
		if !strings.Contains(got, "video:h264:640x360") || !strings.Contains(got, "audio:aac:48000") {
			t.Fatalf("ffprobe of HTTP-FLV on an edge: %s", got)
		}
		decodeFrames(t, url, 30)
	}

	// One relay per edge, both from the origin.
	var origin string
	var tree []string
	waitFor(t, 10*time.Second, "the relay tree in /api/cluster", func() bool {
		origin, tree = c.cluster(t).relayTree(g.ID)
		return origin == "node-a" && len(tree) == 2
	})
	if strings.Join(tree, " ") != "node-b<-node-a node-c<-node-a" {
		t.Fatalf("relay tree %v, want node-b and node-c each pulling from node-a", tree)
	}
	st := a.cluster(t)
	for _, n := range st.Nodes {
		if n.ID == "node-a" && n.Relays != 2 {
			t.Fatalf("origin serves %d relays, want one per edge (2): %+v", n.Relays, st.Nodes)
		}
	}
	if len(st.Nodes) != 3 {
		t.Fatalf("/api/cluster lists %d nodes: %+v", len(st.Nodes), st.Nodes)
	}

	// A legacy player on C as well.
	flvOnC := playFLV(t, c.HTTP+"/live/"+g.ID+".flv")

	// The origin dies; the encoder comes back on node B.
	a.kill()
	pub.Kill()
	pub = ingesttest.Publish(t, b.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Minute})
	before := make([]int64, len(onC))
	for i, v := range onC {
		before[i] = v.packets()
	}
	b.waitStatus(t, g.ID, "live", 15*time.Second)
	liveAt := time.Now()
	for i, v := range onC {
		waitFor(t, 10*time.Second, "a viewer on C to resume on its session", func() bool { return v.packets() > before[i]+60 })
		resumed := time.Since(liveAt)
		if v.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			t.Fatalf("viewer on C: connection %s after the failover", v.pc.ConnectionState())
		}
		if lost := v.lost.Load(); lost > 200 {
			t.Fatalf("viewer on C: %d sequence numbers skipped across the failover (want a continuous sequence)", lost)
		}
		t.Logf("viewer %d on C resumed %v after the publisher was live on B (%d packets lost over the whole show)", i, resumed.Round(time.Millisecond), v.lost.Load())
		if resumed > 3*time.Second {
			t.Fatalf("viewer on C resumed %v after the publisher reconnected, want within 3 s", resumed)
		}
	}
	// The FLV player on C goes on on its connection too.
	flvBytes := flvOnC.bytes.Load()
	waitFor(t, 10*time.Second, "the FLV player on C to get the show from B", func() bool {
		return flvOnC.bytes.Load() > flvBytes+200_000
	})
	if err := flvOnC.err(); err != nil {
		t.Fatalf("the FLV player on C lost its connection across the failover: %v", err)
	}
	waitFor(t, 10*time.Second, "node B as the new origin", func() bool {
		origin, _ = c.cluster(t).relayTree(g.ID)
		return origin == "node-b"
	})
	for _, n := range []*node{b, c} {
		n.assertLogsFree(t, testClusterSecret, g.Credentials.StreamKey)
	}
}

// TestWebPlaysGigRelayedFromAnotherNode drives the watch page against a
// cluster whose creator publishes to node A:
//   - served by node C, it plays over WebRTC and over HTTP-FLV (relayed);
//   - behind a load balancer, when the edge playing to it dies (kill -9),
//     it plays again from another node within 3 s, without a reload;
//   - on node B when B is full (--max-node-viewers 1), its offer is
//     answered 307 and the page plays from the node it was sent to.
func TestWebPlaysGigRelayedFromAnotherNode(t *testing.T) {
	if !web.Built() {
		t.Fatal("the web front-end is not built: run `make web` (or `make test`)")
	}
	ingesttest.RequireFFmpeg(t)
	browsertest.Require(t)
	rds := redistest.Start(t)
	a := startClusterNode(t, rds, "node-a")
	b := startClusterNode(t, rds, "node-b", "--max-node-viewers", "1")
	c := startClusterNode(t, rds, "node-c")
	art := artifacts(t)

	g := a.createGig(t, "Relayed to the browser")
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Minute})
	a.waitStatus(t, g.ID, "live", 15*time.Second)
	for _, mode := range []string{"auto", "flv"} {
		var w watchResult
		browser(t, 150*time.Second, &w, "web_watch.mjs", c.HTTP, art, g.ID, mode, "40")
		want := map[string]string{"auto": "webrtc", "flv": "flv"}[mode]
		if !w.OK || w.Transport != want || w.FramesDecoded <= 0 || w.AudioEnergy <= 0 || w.Width != 640 || w.Height != 360 {
			t.Fatalf("watch %s on node C: %+v", mode, w)
		}
		t.Logf("watch %s on node C (relayed from A): %d frames, latency estimate %.0f ms", mode, w.FramesDecoded, w.LatencyMS)
	}

	t.Run("edge-dies", func(t *testing.T) {
		// The balancer sends everything to C while it is up, then to A.
		lb := startBalancer(t, c, a)
		cue := filepath.Join(art, "resume-playing-auto")
		_ = os.Remove(cue)
		type resumeResult struct {
			OK        bool   `json:"ok"`
			Error     string `json:"error"`
			Before    string `json:"transport_before"`
			After     string `json:"transport_after"`
			Down      string `json:"down_state"`
			ResumedAt int64  `json:"resumed_at"`
		}
		done := make(chan resumeResult, 1)
		go func() {
			var r resumeResult
			_ = browsertest.Run(t, 150*time.Second, &r, "web_resume.mjs", lb, art, g.ID, "auto", "40")
			done <- r
		}()
		waitFor(t, 60*time.Second, "the page to play through the balancer", func() bool { _, err := os.Stat(cue); return err == nil })
		before := a.streamViewers(t, g.ID)["webrtc"]
		killedAt := time.Now()
		c.kill()
		r := <-done
		if !r.OK || r.Before != "webrtc" || r.After != "webrtc" {
			t.Fatalf("after node C died: %+v", r)
		}
		resumed := time.UnixMilli(r.ResumedAt).Sub(killedAt)
		t.Logf("the page played again %v after its node was killed (down: %s)", resumed.Round(time.Millisecond), r.Down)
		if resumed > 3*time.Second {
			t.Fatalf("the page played again %v after its node died, want within 3 s", resumed)
		}
		if after := a.streamViewers(t, g.ID)["webrtc"]; after != before+1 {
			t.Fatalf("node A has %d WebRTC viewers after the edge died, want %d (the page moved there)", after, before+1)
		}
	})

	t.Run("steered", func(t *testing.T) {
		// A viewer fills node B.
		b.watchWHEP(t, g.ID).waitPlaying(t, "the viewer that fills node B")
		// B's load reaches the directory, and dead C has left it.
		waitFor(t, 15*time.Second, "node B to steer to node A", func() bool {
			code, loc := offerStatus(t, b.HTTP+"/whep/"+g.ID)
			return code == http.StatusTemporaryRedirect && strings.HasPrefix(loc, a.HTTP+"/whep/"+g.ID)
		})
		beforeA, beforeB := a.streamViewers(t, g.ID)["webrtc"], b.streamViewers(t, g.ID)["webrtc"]
		var w watchResult
		browser(t, 150*time.Second, &w, "web_watch.mjs", b.HTTP, art, g.ID, "auto", "40")
		if !w.OK || w.Transport != "webrtc" || w.FramesDecoded <= 0 || w.AudioEnergy <= 0 {
			t.Fatalf("watch on a full node B (steered): %+v", w)
		}
		if n := b.streamViewers(t, g.ID)["webrtc"]; n > beforeB {
			t.Fatalf("node B has %d WebRTC viewers after the page, had %d: the page was not steered", n, beforeB)
		}
		if n := a.streamViewers(t, g.ID)["webrtc"]; n <= beforeA {
			t.Fatalf("node A has %d WebRTC viewers after the page, had %d: the page did not play there", n, beforeA)
		}
	})
}

// offerStatus POSTs a WHEP offer without following redirects and returns
// the status and Location; a session it opened is deleted.
func offerStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	v, err := whepclient.New(whepclient.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close() // served here after all: DELETE ends the session
	_, err = v.Post(context.Background(), url)
	if r, ok := whepclient.Refusal(err); ok {
		return r.Status, r.Location
	}
	if err != nil {
		t.Fatal(err)
	}
	return http.StatusCreated, v.Location
}

// streamViewers is GET /api/gigs/{id}/stream's viewer counts on node n.
func (n *node) streamViewers(t *testing.T, gigID string) map[string]int {
	t.Helper()
	var st struct {
		Viewers map[string]int `json:"viewers"`
	}
	n.do(t, http.MethodGet, "/api/gigs/"+gigID+"/stream", "", nil, &st)
	return st.Viewers
}

// startBalancer is a load balancer in front of nodes, as nginx with
// proxy_next_upstream would be: every request goes to the first node that
// accepts the connection. It returns its base URL.
func startBalancer(t *testing.T, nodes ...*node) string {
	t.Helper()
	var targets []*url.URL
	for _, n := range nodes {
		u, err := url.Parse(n.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, u)
	}
	dialer := &net.Dialer{Timeout: time.Second}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetXForwarded()
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "balanced" // the transport picks the node
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var last error
				for _, u := range targets {
					c, err := dialer.DialContext(ctx, network, u.Host)
					if err == nil {
						return c, nil
					}
					last = err
				}
				return nil, last
			},
			DisableKeepAlives: true, // each request picks its node anew
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRelayTreeBoundsOriginEgress: with --relay-fanout 1 the origin serves
// one node; the third node pulls from the second, and its viewers play
// through two hops.
func TestRelayTreeBoundsOriginEgress(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	args := []string{"--relay-fanout", "1"}
	a := startClusterNode(t, rds, "node-a", args...)
	b := startClusterNode(t, rds, "node-b", args...)
	c := startClusterNode(t, rds, "node-c", args...)
	g := a.createGig(t, "Two hops")
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Minute})
	a.waitStatus(t, g.ID, "live", 15*time.Second)

	b.watchWHEP(t, g.ID).waitPlaying(t, "a viewer on B")
	c.watchWHEP(t, g.ID).waitPlaying(t, "a viewer on C (two hops from the origin)")
	got := strings.Join(probe(t, c.HTTP+"/live/"+g.ID+".flv"), " ")
	if !strings.Contains(got, "video:h264:640x360") || !strings.Contains(got, "audio:aac:48000") {
		t.Fatalf("ffprobe of HTTP-FLV two hops from the origin: %s", got)
	}
	var tree []string
	waitFor(t, 10*time.Second, "the relay tree", func() bool {
		_, tree = a.cluster(t).relayTree(g.ID)
		return len(tree) == 2
	})
	if strings.Join(tree, " ") != "node-b<-node-a node-c<-node-b" {
		t.Fatalf("relay tree %v, want node-b from node-a and node-c from node-b", tree)
	}
	waitFor(t, 10*time.Second, "the nodes' relay counts", func() bool {
		relays := map[string]int{}
		for _, n := range a.cluster(t).Nodes {
			relays[n.ID] = n.Relays
		}
		return relays["node-a"] == 1 && relays["node-b"] == 1 && relays["node-c"] == 0
	})
}

// TestTicketsGateRelayedGig: tickets work the same on an edge: no ticket,
// no media; a ticket booked through one node plays on another; revoking it
// ends the edge's playback.
func TestTicketsGateRelayedGig(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	a := startClusterNode(t, rds, "node-a")
	c := startClusterNode(t, rds, "node-c")
	g := a.createGigWith(t, "Ticketed and relayed", map[string]any{"access": "ticket", "capacity": 5})
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Minute})
	a.waitStatus(t, g.ID, "live", 15*time.Second)

	if _, code, body := c.offerWHEP(t, g.ID, ""); code != http.StatusUnauthorized || !strings.Contains(body, "ticket_required") {
		t.Fatalf("WHEP on the edge without a ticket: %d %s", code, body)
	}
	if e := refusal(t, c.flvGet(t, g.ID, "")); e.Error.Code != "ticket_required" {
		t.Fatalf("FLV on the edge without a ticket: %+v", e)
	}
	tk := a.mustBook(t, g.ID, "Ann")
	v, code, body := c.offerWHEP(t, g.ID, tk.TicketToken)
	if code != http.StatusCreated {
		t.Fatalf("WHEP on the edge with a ticket: %d %s", code, body)
	}
	v.waitPlaying(t, "a ticket holder on the edge")
	var rev struct {
		Ticket ticketView `json:"ticket"`
	}
	if code := a.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/"+tk.Ticket.ID+"/revoke", g.Credentials.ManageToken, nil, &rev); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	waitFor(t, 5*time.Second, "the edge to end the revoked ticket's session", func() bool {
		s := v.pc.ConnectionState()
		return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected
	})
	if e := refusal(t, c.flvGet(t, g.ID, "ticket="+tk.TicketToken)); e.Error.Code != "ticket_revoked" {
		t.Fatalf("FLV on the edge with a revoked ticket: %+v", e)
	}
}

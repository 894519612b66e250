package sfu_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access/accesstest"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/webrtc/v4"
)

func pull(t *testing.T, edge, origin *relayNode, gig string) *whip.Pull {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := edge.whip.Pull(ctx, whip.PullConfig{GigID: gig, URL: origin.whepURL(gig), Token: relayToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestRelayPullToEdgeViewer: an edge pulls a live gig from its origin with
// the relay token; its WebRTC viewer plays, its stream has H.264, Opus and
// the origin's AAC (RFC 3640, fragmented AUs included); the origin counts a
// relay session, not a viewer; Close DELETEs the upstream session.
func TestRelayPullToEdgeViewer(t *testing.T) {
	origin := newRelayNode(t, sfu.Config{})
	var finds atomic.Int32
	origin.reg.SetFinder(func(context.Context, string) (*media.Stream, error) {
		finds.Add(1)
		return nil, media.ErrNotLive
	})
	f := feedOrigin(t, origin, "gig1")
	edge := newRelayNode(t, sfu.Config{})

	p := pull(t, edge, origin, "gig1")
	if p.Upstream() != origin.whepURL("gig1") {
		t.Fatalf("upstream %q", p.Upstream())
	}
	st := waitRelayLive(t, edge, "gig1")
	if st != p.Stream() || st.Source() != media.SourceRelay {
		t.Fatalf("edge stream %p source %q, pull's %p", st, st.Source(), p.Stream())
	}
	if cfg := st.Track(media.CodecAAC).AAC; cfg == nil || string(cfg.Raw) != string(testASC) || cfg.SampleRate != 48000 {
		t.Fatalf("edge aac config %+v, want the origin's", cfg)
	}
	var fc frameCounter
	detach, err := st.Attach(&fc, false)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()

	v := edge.asRig().watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "edge viewer video and audio", func() bool {
		video, audio := v.Snapshot()
		return len(video) > 100 && len(audio) > 50
	})
	wheptest.WaitFor(t, 10*time.Second, "edge frames", func() bool {
		h, k, o, a, _, big := fc.counts()
		return h > 60 && k > 0 && o > 50 && a > 50 && big > 1
	})
	h, k, o, a, bad, big := fc.counts()
	t.Logf("edge frames: h264 %d (%d key), opus %d, aac %d (%d fragmented)", h, k, o, a, big)
	if bad != 0 {
		t.Fatalf("%d of %d AAC frames differ from the origin's", bad, a)
	}
	video, audio := v.Snapshot()
	wheptest.CheckSeqContinuous(t, "edge video", video)
	wheptest.CheckSeqContinuous(t, "edge audio", audio)
	if kf := keyframeAt(video, 0); kf != 0 {
		t.Fatalf("edge viewer's video starts at packet %d, not at a keyframe", kf)
	}

	if n := origin.sfu.Viewers(); n != 0 {
		t.Fatalf("origin counts %d viewers, want 0 (a relay is not one)", n)
	}
	if n := f.st.Viewers(); n != 0 {
		t.Fatalf("origin stream counts %d viewers, want 0", n)
	}
	if origin.sfu.RelaySessions("gig1") != 1 || origin.sfu.RelaySessionsTotal() != 1 {
		t.Fatalf("origin relay sessions %d / %d, want 1", origin.sfu.RelaySessions("gig1"), origin.sfu.RelaySessionsTotal())
	}
	if edge.sfu.Viewers() != 1 || edge.whip.Publishers() != 0 {
		t.Fatalf("edge: %d viewers, %d publishers", edge.sfu.Viewers(), edge.whip.Publishers())
	}
	if finds.Load() != 0 {
		t.Fatal("a relay request asked the origin's Finder")
	}

	// A viewer's POST on the origin for a gig not live there asks the
	// Finder; a relay's does not (404).
	resp, body := wheptest.DoRequest(t, http.MethodPost, origin.whepURL("gig2"), "application/sdp", wheptest.NewClient(t, viewerOpts{}).Offer, nil)
	if resp.StatusCode != http.StatusNotFound || finds.Load() != 1 {
		t.Fatalf("viewer POST for gig2 = %d %s, finder asked %d times", resp.StatusCode, body, finds.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = edge.whip.Pull(ctx, whip.PullConfig{GigID: "gig2", URL: origin.whepURL("gig2"), Token: relayToken})
	if !errors.Is(err, whip.ErrRelayRefused) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "gig_not_live") {
		t.Fatalf("pull of a gig not live upstream: %v", err)
	}
	if finds.Load() != 1 {
		t.Fatal("a relay request asked the origin's Finder")
	}
	// A second pull of a gig live here already.
	if _, err := edge.whip.Pull(ctx, whip.PullConfig{GigID: "gig1", URL: origin.whepURL("gig1"), Token: relayToken}); !errors.Is(err, media.ErrAlreadyLive) {
		t.Fatalf("second pull: %v, want ErrAlreadyLive", err)
	}

	p.Close()
	p.Close()
	select {
	case <-p.Done():
	default:
		t.Fatal("Done open after Close")
	}
	if !errors.Is(p.Err(), whip.ErrPullClosed) {
		t.Fatalf("Err after Close: %v", p.Err())
	}
	wheptest.WaitFor(t, 5*time.Second, "origin relay session gone", func() bool { return origin.sfu.RelaySessionsTotal() == 0 })
	if _, ok := edge.reg.Get("gig1"); ok {
		t.Fatal("edge stream still published after Close")
	}
}

// TestRelayAuth: without the relay token a pull is an ordinary viewer (the
// Gate refuses it); a Gate is skipped for the token.
func TestRelayAuth(t *testing.T) {
	origin := newRelayNode(t, sfu.Config{Gate: accesstest.NewGate("gig1")})
	feedOrigin(t, origin, "gig1")
	edge := newRelayNode(t, sfu.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := edge.whip.Pull(ctx, whip.PullConfig{GigID: "gig1", URL: origin.whepURL("gig1"), Token: "wrong"})
	if !errors.Is(err, whip.ErrRelayRefused) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "invalid_ticket") {
		t.Fatalf("pull with a wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error shows the token: %v", err)
	}
	if origin.sfu.RelaySessionsTotal() != 0 || origin.sfu.Viewers() != 0 {
		t.Fatal("a refused pull holds a session")
	}
	p := pull(t, edge, origin, "gig1")
	waitRelayLive(t, edge, "gig1")
	if origin.sfu.RelaySessions("gig1") != 1 {
		t.Fatalf("relay sessions %d", origin.sfu.RelaySessions("gig1"))
	}
	p.Close()

	// A viewer's offer with an mpeg4-generic line gets no AAC.
	pc, err := newPullLikePC(t)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := wheptest.DoRequest(t, http.MethodPost, origin.whepURL("gig1"), "application/sdp", pc, bearer("tk_good"))
	if resp.StatusCode != http.StatusCreated || strings.Contains(strings.ToLower(body), "mpeg4-generic") {
		t.Fatalf("viewer offer with AAC = %d, answer mentions AAC: %v", resp.StatusCode, strings.Contains(strings.ToLower(body), "mpeg4-generic"))
	}
}

// newPullLikePC returns a viewer offer with video, Opus and an
// mpeg4-generic audio line, as a pull's.
func newPullLikePC(t *testing.T) (string, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return "", err
	}
	aac := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/mpeg4-generic", ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3"}, PayloadType: 112}
	if err := m.RegisterCodec(aac, webrtc.RTPCodecTypeAudio); err != nil {
		return "", err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { _ = pc.Close() })
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
		return "", err
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
		return "", err
	}
	tr, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv)
	if err != nil {
		return "", err
	}
	if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{aac}); err != nil {
		return "", err
	}
	return whiptest.GatheredOffer(t, pc), nil
}

// TestRelayPullErrors: answers a pull cannot use.
func TestRelayPullErrors(t *testing.T) {
	edge := newRelayNode(t, sfu.Config{})
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/whep/garbage":
			w.Header().Set("Content-Type", "application/sdp")
			w.Header().Set("Location", "/whep/garbage/s1")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("not sdp at all"))
		case "/whep/plain":
			http.Error(w, "nope", http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer bad.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct{ url, want string }{
		{bad.URL + "/whep/garbage", "not an SDP answer"},
		{bad.URL + "/whep/plain", "502 nope"},
		{"ftp://x/whep/a", "not http"},
		{"http://127.0.0.1:1/whep/a", "post offer"},
	} {
		_, err := edge.whip.Pull(ctx, whip.PullConfig{GigID: "a", URL: tc.url, Token: relayToken})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("pull %s: %v, want %q", tc.url, err, tc.want)
		}
	}
	if _, ok := edge.reg.Get("a"); ok || edge.whip.Publishers() != 0 {
		t.Fatal("a failed pull left a stream")
	}
}

// TestRelayPullEndsWithUpstream: the origin's stream ends (Done within
// PublisherTimeout), and a kick on the edge ends the pull.
func TestRelayPullEndsWithUpstream(t *testing.T) {
	origin := newRelayNode(t, sfu.Config{})
	f := feedOrigin(t, origin, "gig1")
	edge := newRelayNode(t, sfu.Config{}, whip.Config{PublisherTimeout: time.Second})
	p := pull(t, edge, origin, "gig1")
	waitRelayLive(t, edge, "gig1")
	f.halt()
	origin.reg.Unpublish(f.st)
	ended := time.Now()
	select {
	case <-p.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("pull still running 3 s after its origin's stream ended")
	}
	t.Logf("pull ended %v after the origin's stream: %v", time.Since(ended).Round(time.Millisecond), p.Err())
	if !errors.Is(p.Err(), whip.ErrUpstreamGone) {
		t.Fatalf("Err %v", p.Err())
	}
	if _, ok := edge.reg.Get("gig1"); ok {
		t.Fatal("edge stream still published")
	}
	wheptest.WaitFor(t, 5*time.Second, "origin relay session gone", func() bool { return origin.sfu.RelaySessionsTotal() == 0 })

	f2 := feedOrigin(t, origin, "gig1")
	_ = f2
	p2 := pull(t, edge, origin, "gig1")
	waitRelayLive(t, edge, "gig1")
	edge.reg.Kick("gig1", nil)
	select {
	case <-p2.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("pull still running after a kick")
	}
	if !errors.Is(p2.Err(), media.ErrKicked) {
		t.Fatalf("Err after a kick: %v", p2.Err())
	}
}

// TestRelayEdgeViewerSurvivesOriginSwitch: the edge's pull from one origin
// ends and a pull from another publishes a new stream; the edge's viewer
// goes on on the same session with continuous sequence numbers.
func TestRelayEdgeViewerSurvivesOriginSwitch(t *testing.T) {
	a := newRelayNode(t, sfu.Config{})
	b := newRelayNode(t, sfu.Config{})
	feedOrigin(t, a, "gig1")
	feedOrigin(t, b, "gig1")
	edge := newRelayNode(t, sfu.Config{ReconnectGrace: 8 * time.Second})
	p1 := pull(t, edge, a, "gig1")
	st1 := waitRelayLive(t, edge, "gig1")
	v := edge.asRig().watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "video", func() bool { video, _ := v.Snapshot(); return len(video) > 100 })
	p1.Close()
	video, _ := v.Snapshot()
	before := len(video)
	p2 := pull(t, edge, b, "gig1")
	st2 := waitRelayLive(t, edge, "gig1")
	if st2 == st1 {
		t.Fatal("same stream after the switch")
	}
	wheptest.WaitFor(t, 10*time.Second, "video from the second origin on the same session", func() bool {
		video, _ := v.Snapshot()
		return len(video) > before+100
	})
	if edge.sfu.Viewers() != 1 || a.sfu.RelaySessionsTotal() != 0 || b.sfu.RelaySessions("gig1") != 1 {
		t.Fatalf("edge viewers %d, relays on a %d, on b %d", edge.sfu.Viewers(), a.sfu.RelaySessionsTotal(), b.sfu.RelaySessions("gig1"))
	}
	video, audio := v.Snapshot()
	wheptest.CheckSeqContinuous(t, "video across the switch", video)
	wheptest.CheckSeqContinuous(t, "audio across the switch", audio)
	for i := 1; i < len(video); i++ {
		if d := int32(video[i].TS - video[i-1].TS); d < 0 {
			t.Fatalf("video timestamp goes back by %d at packet %d (switch at %d)", -d, i, before)
		}
	}
	if s := v.PC.ConnectionState(); s != webrtc.PeerConnectionStateConnected {
		t.Fatalf("viewer connection %s", s)
	}
	_ = p2
}

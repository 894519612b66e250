package sfu_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/bookmygig/bookmygig/transcode"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rig is the real path: ffmpeg -> RTMP ingest -> registry -> (AAC -> Opus
// transcoder) -> sfu -> WHEP over HTTP.
type rig struct {
	reg  *media.Registry
	ing  *ingesttest.Server
	sfu  *sfu.SFU
	whip *whip.Server
	srv  *httptest.Server
}

func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	// pion goroutines may still log after the test's end: drop those lines
	// (t.Log then would race with the test's completion).
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// startWHIP starts WHIP ingest on s's ICE port, configured as cmd does
// (the signalling settings shared with the SFU's); it closes before s.
func startWHIP(t testing.TB, s *sfu.SFU, cfg sfu.Config, w whip.Config, reg *media.Registry, log *slog.Logger) *whip.Server {
	t.Helper()
	w.Signaling, w.ConnectTimeout, w.ClientIP, w.GOPMaxBytes = cfg.Signal(), cfg.ConnectTimeout, cfg.ClientIP, cfg.GOPMaxBytes
	ws, err := whip.New(w, s.Port(), reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Close)
	return ws
}

// newRig starts the rig; wcfg (at most one) configures its WHIP ingest,
// which has no stream keys (WHIP disabled) without it.
func newRig(t *testing.T, cfg sfu.Config, wcfg ...whip.Config) *rig {
	t.Helper()
	log := testLogger(t)
	reg := media.NewRegistry(media.RegistryConfig{}, log)
	var mu sync.Mutex
	var tcs []*transcode.Transcoder
	reg.OnEvent(func(ev media.Event) {
		if ev.Type != media.Published {
			return
		}
		tc, err := transcode.Start(ev.Stream, transcode.Config{}, log)
		if err != nil {
			t.Errorf("start transcoder: %v", err)
			return
		}
		mu.Lock()
		tcs = append(tcs, tc)
		mu.Unlock()
	})
	ing := ingesttest.StartServer(t, ingest.Config{}, ingesttest.Keys{"key1": "gig1", "key2": "gig2"}, reg, log)
	if cfg.ICEAddr == "" {
		cfg.ICEAddr = "127.0.0.1:0"
	}
	loopbackClients(&cfg)
	s, err := sfu.New(cfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ws := startWHIP(t, s, cfg, append(wcfg, whip.Config{})[0], reg, log)
	mux := http.NewServeMux()
	mux.Handle("/whep/", s.Handler())
	mux.Handle("/whip/", ws.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		ws.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, tc := range tcs {
			tc.Close()
		}
	})
	return &rig{reg: reg, ing: ing, sfu: s, whip: ws, srv: srv}
}

// publish starts ffmpeg on key1 (gig1) and waits until it is live.
func (r *rig) publish(t *testing.T, o ingesttest.Options) (*ingesttest.Publisher, *media.Stream) {
	t.Helper()
	p := ingesttest.Publish(t, r.ing.URL("key1"), o)
	st := ingesttest.WaitLive(t, r.reg, "gig1", 15*time.Second)
	return p, st
}

// rtpRecord is one received RTP packet.
type rtpRecord struct {
	at      time.Time
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
}

// viewer is an in-process pion WHEP client.
type viewer struct {
	pc       *webrtc.PeerConnection
	location string
	started  time.Time

	mu     sync.Mutex
	video  []rtpRecord
	audio  []rtpRecord
	srs    map[uint32][]*rtcp.SenderReport
	ssrcs  map[string]uint32
	closed chan struct{}
}

type viewerOpts struct {
	tcpOnly bool
	noAudio bool
	chat    bool
	// codecs registers the codecs to offer; nil: pion's defaults.
	codecs func(*webrtc.MediaEngine) error
}

// client is o as the shared WHEP client's options.
func (o viewerOpts) client() whepclient.Options {
	c := whepclient.Options{
		Codecs: o.codecs,
		// Lets the NACK test see a retransmission of a packet it already
		// has (a real loss cannot be forced in-process).
		Settings: func(se *webrtc.SettingEngine) { se.DisableSRTPReplayProtection(true) },
	}
	if o.tcpOnly {
		c.Networks = []webrtc.NetworkType{webrtc.NetworkTypeTCP4}
	}
	if o.noAudio {
		c.Kinds = []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	}
	if o.chat {
		c.DataChannel = "chat"
	}
	return c
}

// newClient makes a viewer's PeerConnection and its recvonly offer with
// full ICE gathering (Offer); nothing is sent. The PeerConnection is closed
// when the test ends.
func newClient(t testing.TB, o viewerOpts) *whepclient.Viewer {
	t.Helper()
	return newClientWith(t, o.client())
}

func newClientWith(t testing.TB, opts whepclient.Options) *whepclient.Viewer {
	t.Helper()
	c, err := whepclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.PC.Close() })
	return c
}

func postOffer(t *testing.T, url, sdp string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/sdp", strings.NewReader(sdp))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// watch connects a viewer to gig1 and records what it receives.
func (r *rig) watch(t *testing.T, o viewerOpts) *viewer {
	t.Helper()
	v, code, body := r.watchAs(t, o, "/whep/gig1", nil)
	if code != http.StatusCreated {
		t.Fatalf("POST /whep/gig1 = %d %s", code, body)
	}
	return v
}

// watchAs posts a viewer's offer to path with the extra request headers hdr
// (Authorization); on a 201 the viewer plays and records what it receives,
// otherwise the status and body say why.
func (r *rig) watchAs(t *testing.T, o viewerOpts, path string, hdr map[string]string) (*viewer, int, string) {
	t.Helper()
	v := &viewer{srs: map[uint32][]*rtcp.SenderReport{}, ssrcs: map[string]uint32{}, closed: make(chan struct{})}
	opts := o.client()
	opts.Header = http.Header{}
	for k, val := range hdr {
		opts.Header.Set(k, val)
	}
	opts.OnTrack = func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		kind := tr.Kind().String()
		v.mu.Lock()
		v.ssrcs[kind] = uint32(tr.SSRC())
		v.mu.Unlock()
		go func() {
			for {
				pkts, _, err := rx.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok {
						v.mu.Lock()
						v.srs[sr.SSRC] = append(v.srs[sr.SSRC], sr)
						v.mu.Unlock()
					}
				}
			}
		}()
	}
	opts.OnPacket = func(tr *webrtc.TrackRemote, p *rtp.Packet, at time.Time) {
		rec := rtpRecord{at: at, seq: p.SequenceNumber, ts: p.Timestamp, marker: p.Marker, payload: append([]byte(nil), p.Payload...)}
		v.mu.Lock()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			v.video = append(v.video, rec)
		} else {
			v.audio = append(v.audio, rec)
		}
		v.mu.Unlock()
	}
	c := newClientWith(t, opts)
	v.pc = c.PC
	v.started = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := c.Post(ctx, r.srv.URL+path)
	if ref, ok := whepclient.Refusal(err); ok {
		return v, ref.Status, ref.Body
	}
	if err != nil {
		t.Fatal(err)
	}
	v.location = c.Location
	if err := c.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	return v, http.StatusCreated, answer
}

func (v *viewer) snapshot() (video, audio []rtpRecord) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]rtpRecord(nil), v.video...), append([]rtpRecord(nil), v.audio...)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func doRequest(t *testing.T, method, url, ctype, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var errNoAU = errors.New("no complete access unit")

func describe(recs []rtpRecord) string {
	if len(recs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d packets over %v", len(recs), recs[len(recs)-1].at.Sub(recs[0].at).Round(time.Millisecond))
}

// loopbackClients sets cfg for test clients that are all on 127.0.0.1:
// the server checks the loopback candidates they offer, as it did before
// they were filtered (the filter has its own tests in
// candidate_filter_test.go and whep_limits_test.go), and per-address limits
// are off unless a test sets them, since every client shares one address
// (their tests are in whep_limits_test.go).
func loopbackClients(cfg *sfu.Config) {
	cfg.AllowPrivateCandidates = true
	if cfg.MaxSessionsPerIP == 0 {
		cfg.MaxSessionsPerIP = -1
	}
	if cfg.OfferRate == 0 {
		cfg.OfferRate = -1
	}
}

package whip_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/bookmygig/bookmygig/transcode"
)

// The WHIP tests publish with a pion client (whiptest) and watch over WHEP
// (the sfu) or FLV: what a creator's browser and the audience do.

// rig is the WHIP path end to end: a pion publisher -> WHIP ingest ->
// registry -> (Opus -> AAC transcoder) -> sfu -> WHEP over HTTP, FLV.
type rig struct {
	reg  *media.Registry
	sfu  *sfu.SFU
	whip *whip.Server
	srv  *httptest.Server
}

var testKeys = whiptest.Keys{"key1": "gig1", "key2": "gig2"}

// newRig starts the rig; wcfg configures its WHIP ingest (no stream keys:
// WHIP disabled), cfg its WHEP playback, with whose signalling settings
// WHIP is configured as cmd does.
func newRig(t *testing.T, cfg sfu.Config, wcfg whip.Config) *rig {
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
	if cfg.ICEAddr == "" {
		cfg.ICEAddr = "127.0.0.1:0"
	}
	loopbackClients(&cfg)
	s, err := sfu.New(cfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	wcfg.Signaling, wcfg.ConnectTimeout, wcfg.ClientIP, wcfg.GOPMaxBytes = cfg.Signal(), cfg.ConnectTimeout, cfg.ClientIP, cfg.GOPMaxBytes
	ws, err := whip.New(wcfg, s.Port(), reg, log)
	if err != nil {
		t.Fatal(err)
	}
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
	return &rig{reg: reg, sfu: s, whip: ws, srv: srv}
}

// whipPublish connects a publisher of the H.264 clip for gig with key and
// starts sending.
func (r *rig) whipPublish(t *testing.T, gig, key string) *whiptest.Publisher {
	t.Helper()
	return whiptest.Publish(t, r.srv.URL, gig, key, whiptest.LoadClip(t))
}

// whipPublishClip connects a publisher of clip for gig with key and starts
// sending.
func (r *rig) whipPublishClip(t *testing.T, gig, key string, clip *whiptest.Clip) *whiptest.Publisher {
	t.Helper()
	return whiptest.Publish(t, r.srv.URL, gig, key, clip)
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

// The recording viewer and its helpers are shared with the sfu tests in
// wheptest; these names keep the tests' spelling.
type (
	rtpRecord  = wheptest.Record
	viewer     = wheptest.Viewer
	viewerOpts = wheptest.Opts
	apiError   = wheptest.APIError
)

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
	return wheptest.Watch(t, o, r.srv.URL+path, hdr)
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

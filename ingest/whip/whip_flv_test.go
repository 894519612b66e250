package whip_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/sfu"
)

// TestWHIPWatchableOverFLV: a WHIP show (H.264 + Opus) plays over HTTP-FLV
// as H.264 + AAC (the derived track), decoded by the real ffprobe.
func TestWHIPWatchableOverFLV(t *testing.T) {
	r := newRig(t, sfu.Config{}, whip.Config{Keys: testKeys})
	h := flv.NewHandler(flv.Config{}, r.reg, testLogger(t))
	mux := http.NewServeMux()
	mux.Handle("GET /live/{file}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.whipPublish(t, "gig1", "key1")
	waitWHIPLive(t, r, "gig1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height,sample_rate",
		"-of", "compact=p=0", srv.URL+"/live/gig1.flv").CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	s := string(out)
	t.Logf("ffprobe: %s", strings.TrimSpace(s))
	if !strings.Contains(s, "codec_name=h264") || !strings.Contains(s, "width=640") || !strings.Contains(s, "codec_name=aac") {
		t.Fatalf("ffprobe of the FLV of a WHIP show:\n%s\nwant h264 640x360 and aac", s)
	}
	// And ffmpeg decodes a couple of seconds of both without errors.
	out, err = exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-i", srv.URL+"/live/gig1.flv",
		"-t", "2", "-f", "null", "-").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("ffmpeg decode of the FLV: %v\n%s", err, out)
	}
}

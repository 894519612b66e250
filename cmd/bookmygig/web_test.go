package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/browsertest"
	"github.com/bookmygig/bookmygig/web"
)

// artifacts is where the browser scripts put their screenshots
// (test-artifacts/ at the repository root, ignored by git).
func artifacts(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "test-artifacts", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser runs e2e/<script> base artifacts args... and decodes its result.
func browser(t *testing.T, timeout time.Duration, out any, script string, args ...string) {
	t.Helper()
	var raw json.RawMessage
	err := browsertest.Run(t, timeout, &raw, script, args...)
	if err != nil {
		t.Fatalf("%s %v: %v: %s (screenshots in %s)", script, args, err, raw, args[1])
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s result %s: %v", script, raw, err)
	}
}

type watchResult struct {
	OK            bool    `json:"ok"`
	Error         string  `json:"error"`
	Transport     string  `json:"transport"`
	FramesDecoded int     `json:"frames_decoded"`
	AudioEnergy   float64 `json:"audio_energy"`
	LatencyMS     float64 `json:"latency_ms"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	BrowseLive    bool    `json:"browse_live"`
	FallbackNote  string  `json:"fallback_note"`
}

// TestWebApp drives the embedded web app in headless Chromium the way
// creators and viewers use it: list a gig through the form, go live from
// ffmpeg with the key the page showed, watch over WebRTC and over the FLV
// fallbacks, chat between pages, moderate from the studio, resume after the
// creator reconnects, and manage the gig.
func TestWebApp(t *testing.T) {
	if !web.Built() {
		t.Fatal("the web front-end is not built: run `make web` (or `make test`)")
	}
	ingesttest.RequireFFmpeg(t)
	browsertest.Require(t)
	n := startNode(t)
	art := artifacts(t)

	var listed struct {
		OK                bool   `json:"ok"`
		GigID             string `json:"gig_id"`
		StreamKey         string `json:"stream_key"`
		ManageToken       string `json:"manage_token"`
		RTMPURL           string `json:"rtmp_url"`
		WatchURL          string `json:"watch_url"`
		ValidationField   string `json:"validation_field"`
		ValidationMessage string `json:"validation_message"`
	}
	browser(t, 90*time.Second, &listed, "web_list_gig.mjs", n.HTTP, art, "E2E stand-up night")
	if !listed.OK || listed.GigID == "" || !strings.HasPrefix(listed.StreamKey, "sk_") || !strings.HasPrefix(listed.ManageToken, "mt_") {
		t.Fatalf("list a gig: %+v", listed)
	}
	if listed.ValidationField != "title" || listed.ValidationMessage == "" {
		t.Fatalf("the title's validation message was not shown beside it: %+v", listed)
	}
	if listed.RTMPURL != n.RTMP {
		t.Fatalf("credentials page shows %q, want %q", listed.RTMPURL, n.RTMP)
	}
	gig := listed.GigID

	pub := ingesttest.Publish(t, listed.RTMPURL+"/"+listed.StreamKey, ingesttest.Options{})
	n.waitStatus(t, gig, "live", 15*time.Second)

	for _, mode := range []string{"auto", "flv", "nowebrtc"} {
		t.Run("watch-"+mode, func(t *testing.T) {
			var w watchResult
			browser(t, 150*time.Second, &w, "web_watch.mjs", n.HTTP, art, gig, mode, "40")
			want := map[string]string{"auto": "webrtc", "flv": "flv", "nowebrtc": "flv"}[mode]
			if !w.OK || w.Transport != want || w.FramesDecoded <= 0 || w.AudioEnergy <= 0 || !w.BrowseLive {
				t.Fatalf("watch %s: %+v", mode, w)
			}
			if w.Width != 640 || w.Height != 360 {
				t.Fatalf("watch %s: picture %dx%d, want 640x360", mode, w.Width, w.Height)
			}
			t.Logf("watch %s: %d frames, latency estimate %.0f ms", mode, w.FramesDecoded, w.LatencyMS)
		})
	}

	t.Run("chat", func(t *testing.T) {
		var c struct {
			OK         bool `json:"ok"`
			AnnSaw     bool `json:"ann_saw"`
			BenSaw     bool `json:"ben_saw"`
			Escaped    bool `json:"escaped"`
			History    any  `json:"history"`
			RateNotice any  `json:"rate_notice"`
		}
		browser(t, 120*time.Second, &c, "web_chat.mjs", n.HTTP, art, gig)
		if !c.OK || !c.AnnSaw || !c.BenSaw || !c.Escaped || truthy(c.History) == false || truthy(c.RateNotice) == false {
			t.Fatalf("chat: %+v", c)
		}
	})

	t.Run("moderation", func(t *testing.T) {
		var m struct {
			OK         bool `json:"ok"`
			StudioSaw  any  `json:"studio_saw"`
			Removed    any  `json:"removed"`
			MuteNotice any  `json:"mute_notice"`
			SlowMode   any  `json:"slow_mode"`
		}
		browser(t, 120*time.Second, &m, "web_moderation.mjs", n.HTTP, art, gig, listed.ManageToken)
		if !m.OK || !truthy(m.StudioSaw) || !truthy(m.Removed) || !truthy(m.MuteNotice) {
			t.Fatalf("moderation: %+v", m)
		}
	})

	t.Run("resume", func(t *testing.T) {
		type resumeResult struct {
			OK             bool    `json:"ok"`
			Error          string  `json:"error"`
			TransportAfter string  `json:"transport_after"`
			ResumedAfterMS float64 `json:"resumed_after_ms"`
		}
		cue := filepath.Join(art, "resume-playing-auto")
		_ = os.Remove(cue)
		done := make(chan resumeResult, 1)
		go func() {
			var r resumeResult
			_ = browsertest.Run(t, 150*time.Second, &r, "web_resume.mjs", n.HTTP, art, gig, "auto", "40")
			done <- r
		}()
		// Once the page plays, the creator's encoder crashes and comes
		// back a few seconds later.
		waitFor(t, 60*time.Second, "the page to play", func() bool { _, err := os.Stat(cue); return err == nil })
		time.Sleep(time.Second)
		pub.Kill()
		time.Sleep(4 * time.Second)
		pub = ingesttest.Publish(t, listed.RTMPURL+"/"+listed.StreamKey, ingesttest.Options{})
		r := <-done
		if !r.OK {
			t.Fatalf("resume: %+v", r)
		}
		t.Logf("resumed %.0f ms after the page saw the drop, over %s", r.ResumedAfterMS, r.TransportAfter)
	})

	t.Run("webrtc-refused-bframes", func(t *testing.T) {
		g := n.createGig(t, "B-frames show")
		ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Extra: []string{"-bf", "2"}})
		n.waitStatus(t, g.ID, "live", 15*time.Second)
		var w watchResult
		browser(t, 150*time.Second, &w, "web_watch.mjs", n.HTTP, art, g.ID, "refused", "40")
		if !w.OK || w.Transport != "flv" || w.FramesDecoded <= 0 || w.FallbackNote == "" {
			t.Fatalf("B-frames stream: %+v", w)
		}
		t.Logf("fallback note: %q", w.FallbackNote)
	})

	t.Run("studio-live-whip", func(t *testing.T) {
		g := n.createGig(t, "Studio show")
		type liveResult struct {
			OK          bool    `json:"ok"`
			Error       string  `json:"error"`
			SentKbps    float64 `json:"sent_kbps"`
			SentCodec   string  `json:"sent_codec"`
			Transport   string  `json:"viewer_transport"`
			Frames      int     `json:"viewer_frames"`
			AudioEnergy float64 `json:"viewer_audio_energy"`
			HealthLive  bool    `json:"health_live"`
			Ended       bool    `json:"ended"`
		}
		done := make(chan liveResult, 1)
		go func() {
			var r liveResult
			_ = browsertest.Run(t, 180*time.Second, &r, "web_studio_live.mjs", n.HTTP, art, g.ID, g.Credentials.ManageToken, g.Credentials.StreamKey, "40")
			done <- r
		}()
		// While the studio is live, a legacy player gets H.264 and AAC
		// (transcoded from the browser's Opus) over HTTP-FLV.
		n.waitStatus(t, g.ID, "live", 60*time.Second)
		var health streamHealth
		waitFor(t, 20*time.Second, "WHIP stream health with AAC made from Opus", func() bool {
			health = streamHealth{}
			if n.do(t, "GET", "/api/gigs/"+g.ID+"/stream", "", nil, &health) != 200 || health.Video == nil {
				return false
			}
			for _, a := range health.Audio {
				if a.Codec == "AAC" && a.Derived {
					return true
				}
			}
			return false
		})
		if health.Source != "whip" || health.Video.Codec != "H264" {
			t.Fatalf("studio stream health = %+v", health)
		}
		got := strings.Join(probe(t, n.HTTP+"/live/"+g.ID+".flv"), " ")
		if !strings.Contains(got, "video:h264:") || !strings.Contains(got, "audio:aac:48000") {
			t.Fatalf("ffprobe of the studio's HTTP-FLV: %s", got)
		}
		r := <-done
		if !r.OK || r.Transport != "webrtc" || r.Frames <= 0 || r.AudioEnergy <= 0 || !r.HealthLive || !r.Ended {
			t.Fatalf("studio live: %+v", r)
		}
		n.waitStatus(t, g.ID, "ended", 15*time.Second)
		t.Logf("studio sent %s at %.0f kb/s; viewer decoded %d frames", r.SentCodec, r.SentKbps, r.Frames)
		n.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
	})

	t.Run("studio-manage", func(t *testing.T) {
		g := n.createGig(t, "Manage me")
		var m struct {
			OK           bool   `json:"ok"`
			TokenPrompt  any    `json:"token_prompt"`
			EditedTitle  string `json:"edited_title"`
			EditValid    any    `json:"edit_validation"`
			NewStreamKey string `json:"new_stream_key"`
			Deleted      any    `json:"deleted"`
		}
		browser(t, 120*time.Second, &m, "web_studio_manage.mjs", n.HTTP, art, g.ID, g.Credentials.ManageToken, "delete")
		if !m.OK || !truthy(m.TokenPrompt) || m.EditedTitle == "" || !truthy(m.EditValid) || !strings.HasPrefix(m.NewStreamKey, "sk_") || !truthy(m.Deleted) {
			t.Fatalf("studio manage: %+v", m)
		}
		if m.NewStreamKey == g.Credentials.StreamKey {
			t.Fatal("the stream key was not rotated")
		}
		var gone gigView
		if code := n.do(t, "GET", "/api/gigs/"+g.ID, "", nil, &gone); code != 404 {
			t.Fatalf("deleted gig answers %d", code)
		}
	})

	n.assertLogsFree(t, listed.StreamKey, listed.ManageToken)
}

// truthy is JavaScript truthiness for the scripts' JSON values.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	default:
		return true
	}
}

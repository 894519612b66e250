package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// streamHealth is the part of GET /api/gigs/{id}/stream the tests read.
type streamHealth struct {
	Source string `json:"source"`
	Video  *struct {
		Codec  string `json:"codec"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	} `json:"video"`
	Audio []struct {
		Codec   string `json:"codec"`
		Derived bool   `json:"derived"`
	} `json:"audio"`
	Viewers map[string]int `json:"viewers"`
}

// probe runs ffprobe on url and returns "video:h264:640x360" and
// "audio:aac:48000" style entries.
func probe(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height,sample_rate", "-of", "json", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	var p struct {
		Streams []struct {
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			SampleRate string `json:"sample_rate"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	var got []string
	for _, s := range p.Streams {
		if s.CodecType == "video" {
			got = append(got, "video:"+s.CodecName+":"+strconv.Itoa(s.Width)+"x"+strconv.Itoa(s.Height))
		} else {
			got = append(got, "audio:"+s.CodecName+":"+s.SampleRate)
		}
	}
	return got
}

// decodeFrames has ffmpeg decode n video frames of url and fails on any
// decoder complaint.
func decodeFrames(t *testing.T, url string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", url, "-frames:v", strconv.Itoa(n), "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("decoding %d frames of %s: %v\n%s", n, url, err, out)
	}
}

// TestRTMPToFLVEndToEnd is a creator going live from ffmpeg (as OBS would)
// with the key the API gave, and a legacy player watching over HTTP-FLV.
func TestRTMPToFLVEndToEnd(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	n := startNode(t)
	g := n.createGig(t, "Late-night stand-up")
	if g.Credentials.RTMPURL != n.RTMP {
		t.Fatalf("credentials rtmp_url = %q, want %q", g.Credentials.RTMPURL, n.RTMP)
	}
	flvURL := n.HTTP + "/live/" + g.ID + ".flv"

	// Not live yet: a clear 404.
	if resp, err := http.Get(flvURL); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("FLV before going live: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A wrong key is refused and the gig stays scheduled.
	bad := ingesttest.Publish(t, n.RTMP+"/sk_not-a-real-key", ingesttest.Options{Duration: 5 * time.Second})
	if err := bad.Wait(t, 15*time.Second); err == nil {
		t.Fatal("ffmpeg published with an unknown stream key")
	}
	if st := n.gig(t, g.ID).Status; st != "scheduled" {
		t.Fatalf("status after refused publish = %s", st)
	}

	pub := ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	var health streamHealth
	waitFor(t, 10*time.Second, "stream health with video and transcoded audio", func() bool {
		health = streamHealth{}
		if n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/stream", "", nil, &health) != http.StatusOK || health.Video == nil {
			return false
		}
		for _, a := range health.Audio {
			if a.Codec == "Opus" && a.Derived {
				return true
			}
		}
		return false
	})
	if health.Source != "rtmp" || health.Video.Width != 640 || health.Video.Height != 360 {
		t.Fatalf("stream health = %+v", health)
	}

	got := strings.Join(probe(t, flvURL), " ")
	if !strings.Contains(got, "video:h264:640x360") || !strings.Contains(got, "audio:aac:48000") {
		t.Fatalf("ffprobe of HTTP-FLV: %s", got)
	}
	decodeFrames(t, flvURL, 60)

	// A second publisher is refused while the first is healthy.
	second := ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Second})
	if err := second.Wait(t, 15*time.Second); err == nil {
		t.Fatal("a second publisher took over a healthy live gig")
	}

	// Listings and the gig never show secrets.
	for _, path := range []string{"/api/gigs", "/api/gigs/" + g.ID, "/api/gigs?status=live", "/api/gigs/" + g.ID + "/stream"} {
		resp, err := http.Get(n.HTTP + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), g.Credentials.StreamKey) || strings.Contains(string(body), g.Credentials.ManageToken) {
			t.Fatalf("%s shows a secret", path)
		}
	}

	// A player connected when the creator's encoder crashes sees the
	// response end; the gig turns ended.
	resp, err := http.Get(flvURL)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	var read atomic.Int64
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		n, _ := io.Copy(io.Discard, resp.Body)
		read.Store(n)
	}()
	time.Sleep(time.Second)
	pub.Kill()
	select {
	case <-ended:
	case <-time.After(15 * time.Second):
		t.Fatal("FLV response did not end after the publisher died")
	}
	resp.Body.Close()
	if read.Load() < 10_000 {
		t.Fatalf("FLV player read only %d bytes", read.Load())
	}
	n.waitStatus(t, g.ID, "ended", 15*time.Second)

	// A rotated key: the old one stops working, the new one goes live again.
	var rot struct {
		StreamKey string `json:"stream_key"`
	}
	if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/stream-key", g.Credentials.ManageToken, nil, &rot); code != http.StatusOK || rot.StreamKey == "" {
		t.Fatalf("rotate: %d", code)
	}
	old := ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{Duration: 5 * time.Second})
	if err := old.Wait(t, 15*time.Second); err == nil {
		t.Fatal("the rotated-out key still publishes")
	}
	ingesttest.Publish(t, n.RTMP+"/"+rot.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)
	decodeFrames(t, flvURL, 30)

	n.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken, rot.StreamKey)
}

// TestSIGTERMWithLiveShow stops a node while a show is live with an FLV
// player and a chat client: chat is told the server restarts, the player's
// response ends, the process exits 0 within 10 s, and the gig is saved as
// ended (checked by a second node on the same Redis).
func TestSIGTERMWithLiveShow(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	n := startNode(t, "--redis", rds.URL())
	g := n.createGig(t, "Shutdown show")
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	resp, err := http.Get(n.HTTP + "/live/" + g.ID + ".flv")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	defer resp.Body.Close()
	flvEnded := make(chan struct{})
	go func() {
		defer close(flvEnded)
		_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
	}()
	cc := n.chat(t, g.ID)
	cc.join("Ann", nil)

	took := n.stop(10 * time.Second)
	if n.exitCode != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", n.exitCode, n.logs.String())
	}
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	cc.next("restarting", 2*time.Second)
	select {
	case <-flvEnded:
	case <-time.After(2 * time.Second):
		t.Fatal("FLV response still open after the server exited")
	}

	m := startNode(t, "--redis", rds.URL())
	if st := m.gig(t, g.ID).Status; st != "ended" {
		t.Fatalf("status after shutdown = %s, want ended", st)
	}
	n.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
}

// TestStartupFailsClearly: a port in use or an unreachable Redis stops
// start-up with a message naming the option.
func TestStartupFailsClearly(t *testing.T) {
	n := startNode(t)
	busy := strings.TrimPrefix(n.HTTP, "http://")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--http-addr", busy, "--rtmp-addr", "", "--webrtc-port", "0"}, "--http-addr"},
		{[]string{"--http-addr", "127.0.0.1:0", "--rtmp-addr", "", "--webrtc-port", "0", "--redis", "redis://127.0.0.1:1/0"}, "--redis"},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, binPath, c.args...).CombinedOutput()
		cancel()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
			t.Fatalf("%v: err %v, output:\n%s", c.args, err, out)
		}
	}
}

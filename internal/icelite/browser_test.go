package icelite

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/browsertest"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// h264Clip encodes a 320x240 30 fps Constrained Baseline clip as Annex B
// access units (one per frame).
func h264Clip(t *testing.T, seconds int) [][]byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not found: install it with `apt-get install -y ffmpeg` (or run `make test`)")
	}
	out := filepath.Join(t.TempDir(), "clip.h264")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
		"-t", strconv.Itoa(seconds), "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-bf", "0", "-x264-params", "aud=1",
		"-f", "h264", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Split at access unit delimiters (NAL type 9).
	aud := []byte{0, 0, 0, 1, 0x09}
	var aus [][]byte
	for len(raw) > 0 {
		next := bytes.Index(raw[len(aud):], aud)
		if next < 0 {
			aus = append(aus, raw)
			break
		}
		aus = append(aus, raw[:next+len(aud)])
		raw = raw[next+len(aud):]
	}
	return aus
}

// TestChromiumPlaysFromIcelite: Chromium's own WebRTC stack connects to a
// Peer (ICE-lite checks, DTLS with us as server, SRTP keyed from our
// connection) and decodes the H.264 we send through it.
func TestChromiumPlaysFromIcelite(t *testing.T) {
	browsertest.Require(t)
	aus := h264Clip(t, 4)
	m := startMux(t, Config{})
	var mu sync.Mutex
	var peer *Peer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	whep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Expose-Headers", "Location, ETag, Link")
		switch r.Method {
		case http.MethodOptions:
			w.Header().Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			offer, _ := io.ReadAll(r.Body)
			p, a := buildAnswer(t, m, string(offer), nil)
			mu.Lock()
			peer = p
			mu.Unlock()
			go sendClip(ctx, p, a, aus)
			w.Header().Set("Location", "/whep/session")
			w.Header().Set("ETag", `"1"`)
			w.Header().Set("Content-Type", "application/sdp")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, a.sdp)
		case http.MethodDelete:
			mu.Lock()
			p := peer
			mu.Unlock()
			if p != nil {
				_ = p.Close()
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer whep.Close()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(browsertest.Dir(t), "whep_player.html"))
	}))
	defer page.Close()

	var res struct {
		Post  struct{ Status int } `json:"post"`
		Final struct {
			ConnectedMs float64 `json:"connectedMs"`
			Video       struct {
				FramesDecoded int `json:"framesDecoded"`
				FrameWidth    int `json:"frameWidth"`
				PacketsLost   int `json:"packetsLost"`
			} `json:"video"`
		} `json:"final"`
		FramesBySecond []int  `json:"framesBySecond"`
		Del            int    `json:"del"`
		Error          string `json:"error"`
	}
	err := browsertest.Run(t, 60*time.Second, &res, "whep_play.mjs", page.URL+"/whep_player.html", whep.URL+"/whep/gig", "4")
	if err != nil || res.Error != "" {
		t.Fatalf("whep_play.mjs: %v %s", err, res.Error)
	}
	v := res.Final.Video
	t.Logf("chromium: connected after %.0f ms, frames decoded by second %v, width %d, lost %d", res.Final.ConnectedMs, res.FramesBySecond, v.FrameWidth, v.PacketsLost)
	if res.Post.Status != http.StatusCreated {
		t.Fatalf("POST status %d", res.Post.Status)
	}
	if v.FramesDecoded < 60 || v.FrameWidth != 320 {
		t.Fatalf("Chromium decoded %d frames of width %d in 4 s, want >= 60 at 320", v.FramesDecoded, v.FrameWidth)
	}
	mu.Lock()
	p := peer
	mu.Unlock()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the player's DELETE did not end the peer")
	}
}

// sendClip sends aus at 30 fps, looping, once p is connected.
func sendClip(ctx context.Context, p *Peer, a testAnswer, aus [][]byte) {
	select {
	case <-p.Connected():
	case <-p.Done():
		return
	case <-ctx.Done():
		return
	}
	pay := &codecs.H264Payloader{}
	h := rtp.Header{Version: 2, PayloadType: a.videoPT, SSRC: a.videoSSRC, SequenceNumber: 100}
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for i := 0; ; i++ {
		payloads := pay.Payload(1200, aus[i%len(aus)])
		for j, pl := range payloads {
			h.Marker = j == len(payloads)-1
			if _, err := p.WriteRTP(&h, pl); err != nil {
				return
			}
			h.SequenceNumber++
		}
		h.Timestamp += 3000
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		case <-p.Done():
			return
		}
	}
}

package flv_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/media"
)

const (
	testKey = "sk_flv_test_key"
	testGig = "gig-flv"
)

type env struct {
	reg  *media.Registry
	rtmp *ingesttest.Server
	flv  *flv.Handler
	http *httptest.Server
}

func newEnv(t *testing.T, cfg flv.Config) *env {
	t.Helper()
	ingesttest.RequireFFmpeg(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := &env{reg: media.NewRegistry(media.RegistryConfig{}, log)}
	e.rtmp = ingesttest.StartServer(t, ingest.Config{}, ingesttest.Keys{testKey: testGig}, e.reg, log)
	e.flv = flv.NewHandler(cfg, e.reg, log)
	mux := http.NewServeMux()
	mux.Handle("GET /live/{file}", e.flv)
	mux.Handle("OPTIONS /live/{file}", e.flv)
	e.http = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.flv.Close()
		e.http.Close()
	})
	return e
}

type testWriter struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *env) url(gig string) string { return e.http.URL + "/live/" + gig + ".flv" }

func (e *env) publish(t *testing.T) (*ingesttest.Publisher, *media.Stream) {
	t.Helper()
	p := ingesttest.Publish(t, e.rtmp.URL(testKey), ingesttest.Options{})
	return p, ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
}

// flvTag is one parsed tag of an FLV byte stream.
type flvTag struct {
	typ  byte
	ts   uint32
	body []byte
}

func (t flvTag) isVideoKey() bool {
	return t.typ == 9 && len(t.body) > 1 && t.body[0] == 0x17 && t.body[1] == 1
}

func readFileHeader(t *testing.T, r io.Reader) byte {
	t.Helper()
	var h [13]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("flv header: %v", err)
	}
	if string(h[:3]) != "FLV" || h[3] != 1 || binary.BigEndian.Uint32(h[5:9]) != 9 {
		t.Fatalf("bad flv header %x", h)
	}
	return h[4]
}

func readTag(r io.Reader) (flvTag, error) {
	var h [11]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return flvTag{}, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	ts := uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]) | uint32(h[7])<<24
	body := make([]byte, n+4)
	if _, err := io.ReadFull(r, body); err != nil {
		return flvTag{}, err
	}
	if prev := binary.BigEndian.Uint32(body[n:]); prev != uint32(n+11) {
		return flvTag{}, fmt.Errorf("PreviousTagSize %d, want %d", prev, n+11)
	}
	return flvTag{typ: h[0], ts: ts, body: body[:n]}, nil
}

// checkStart checks what every player needs first: onMetaData, the AVC and
// AAC sequence headers, then a video keyframe before any other video.
func checkStart(t *testing.T, next func() flvTag) {
	t.Helper()
	meta := next()
	if meta.typ != 18 || !bytes.Contains(meta.body, []byte("onMetaData")) || !bytes.Contains(meta.body, []byte("videocodecid")) {
		t.Fatalf("first tag is not onMetaData: type %d %q", meta.typ, meta.body)
	}
	avc := next()
	if avc.typ != 9 || avc.body[0] != 0x17 || avc.body[1] != 0 || avc.body[5] != 1 {
		t.Fatalf("second tag is not the AVC sequence header: %x", avc.body[:min(8, len(avc.body))])
	}
	aac := next()
	if aac.typ != 8 || aac.body[0]>>4 != 10 || aac.body[1] != 0 || !bytes.Equal(aac.body[2:4], []byte{0x11, 0x90}) {
		t.Fatalf("third tag is not the AAC 48 kHz stereo sequence header: %x", aac.body)
	}
	for {
		tg := next()
		if tg.typ == 8 {
			continue
		}
		if !tg.isVideoKey() {
			t.Fatalf("first video tag is not a keyframe: %x", tg.body[:2])
		}
		return
	}
}

func TestHTTPFLVDecodesInFFmpeg(t *testing.T) {
	e := newEnv(t, flv.Config{})
	e.publish(t)

	// Resolution and codecs as ffprobe sees them.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height,sample_rate,channels", "-of", "json", e.url(testGig)).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var probe struct {
		Streams []struct {
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	var video, audio bool
	for _, st := range probe.Streams {
		switch st.CodecType {
		case "video":
			video = st.CodecName == "h264" && st.Width == 640 && st.Height == 360
		case "audio":
			audio = st.CodecName == "aac" && st.SampleRate == "48000" && st.Channels == 2
		}
	}
	if !video || !audio {
		t.Fatalf("ffprobe streams = %s", out)
	}

	// The very first frame decodes at once, without missing parameter sets.
	start := time.Now()
	first, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", e.url(testGig), "-frames:v", "1", "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(first)) > 0 {
		t.Fatalf("first frame: err %v, ffmpeg said:\n%s", err, first)
	}
	t.Logf("first frame decoded %v after connecting", time.Since(start).Round(time.Millisecond))
	if time.Since(start) > 3*time.Second {
		t.Fatalf("first frame took %v", time.Since(start))
	}

	// Three seconds of decoding: every video and audio frame counted.
	dec, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", e.url(testGig), "-t", "3", "-f", "framecrc", "-").Output()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var nv, na int
	for _, line := range strings.Split(string(dec), "\n") {
		switch {
		case strings.HasPrefix(line, "0,"):
			nv++
		case strings.HasPrefix(line, "1,"):
			na++
		}
	}
	if nv < 75 || na < 120 {
		t.Fatalf("decoded %d video and %d audio frames in 3 s", nv, na)
	}
	t.Logf("decoded %d video and %d audio frames in 3 s", nv, na)
}

func TestWSFLVTagSequence(t *testing.T) {
	e := newEnv(t, flv.Config{})
	_, s := e.publish(t)
	time.Sleep(700 * time.Millisecond) // join mid-GOP: the GOP cache must start us at a keyframe
	wsURL := "ws" + strings.TrimPrefix(e.url(testGig), "http")
	c, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, first, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || len(first) != 13 {
		t.Fatalf("first message: type %d, %d bytes, %v", typ, len(first), err)
	}
	if flags := readFileHeader(t, bytes.NewReader(first)); flags != 0x05 {
		t.Fatalf("flv header flags %#x, want audio+video", flags)
	}
	next := func() flvTag {
		t.Helper()
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		tg, err := readTag(bytes.NewReader(msg))
		if err != nil || tg.typ == 0 {
			t.Fatalf("message is not one whole tag: %v", err)
		}
		return tg
	}
	checkStart(t, next)
	if n := s.Stats().Viewers["ws-flv"]; n != 1 {
		t.Fatalf("ws-flv viewers = %d", n)
	}
	video, last := 0, uint32(0)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		tg := next()
		if tg.typ == 9 {
			if tg.ts < last {
				t.Fatalf("video timestamp went back: %d after %d", tg.ts, last)
			}
			last = tg.ts
			video++
		}
	}
	if video < 45 {
		t.Fatalf("%d video tags in 2 s", video)
	}
}

func TestErrorsAndCORS(t *testing.T) {
	e := newEnv(t, flv.Config{})
	vp8 := media.NewStream(media.StreamConfig{GigID: "webrtc-gig", Source: "whip"}, nil)
	vp8.SetTrack(&media.Track{Codec: media.CodecVP8})
	vp8.SetTrack(&media.Track{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2})
	if err := e.reg.Publish(vp8); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"not live", "GET", "/live/nobody.flv", 404, "not_live"},
		{"not an flv path", "GET", "/live/nobody.mp4", 404, "not_found"},
		{"vp8 only", "GET", "/live/webrtc-gig.flv", 415, "unsupported_codec"},
		{"preflight", "OPTIONS", "/live/nobody.flv", 204, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.http.URL+tc.path, nil)
			req.Header.Set("Origin", "https://player.example")
			req.Header.Set("Access-Control-Request-Method", "GET")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("status %d, CORS %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			if tc.code == "" {
				if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
					t.Fatal("preflight without allowed methods")
				}
				return
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Fatalf("body = %+v, %v", body, err)
			}
			if tc.code == "unsupported_codec" && !strings.Contains(body.Error.Message, "H.264") {
				t.Fatalf("message does not say FLV needs H.264: %q", body.Error.Message)
			}
		})
	}
}

// With ReconnectGrace < 0 viewers end with the stream, at once.
func TestPublisherGoneEndsResponsesAndComebackWorks(t *testing.T) {
	e := newEnv(t, flv.Config{ReconnectGrace: -1})
	pub, s := e.publish(t)

	resp, err := http.Get(e.url(testGig))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/x-flv" || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("response %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	body := bufio.NewReader(resp.Body)
	readFileHeader(t, body)
	checkStart(t, func() flvTag {
		tg, err := readTag(body)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	})

	wsURL := "ws" + strings.TrimPrefix(e.url(testGig), "http")
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	waitFor(t, 3*time.Second, "viewer counts", func() bool {
		v := s.Stats().Viewers
		return v["flv"] == 1 && v["ws-flv"] == 1
	})

	pub.Kill()
	waitFor(t, 10*time.Second, "stream unpublished", s.Closed)
	closedAt := time.Now()
	httpDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, body)
		httpDone <- err
	}()
	select {
	case err := <-httpDone:
		if err != nil {
			t.Fatalf("HTTP-FLV response did not end cleanly: %v", err)
		}
		if d := time.Since(closedAt); d > time.Second {
			t.Fatalf("HTTP-FLV response ended %v after the stream, want at once", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HTTP-FLV response still open 10 s after the publisher died")
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("WS-FLV did not close normally: %v", err)
			}
			break
		}
	}

	// The publisher comes back: a new request plays at once.
	ingesttest.Publish(t, e.rtmp.URL(testKey), ingesttest.Options{})
	ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	resp2, err := http.Get(e.url(testGig))
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Fatalf("after comeback: status %d", resp2.StatusCode)
	}
	b2 := bufio.NewReader(resp2.Body)
	readFileHeader(t, b2)
	if _, err := readTag(b2); err != nil {
		t.Fatal(err)
	}
}

// readMedia reads media tags (no headers or metadata) for d and returns how
// many were of type typ, how many of the other type, and the longest gap
// between two typ tags after the first burst of them.
func readMedia(t *testing.T, r io.Reader, d time.Duration, typ byte, burst int) (n, other int, maxGap time.Duration) {
	t.Helper()
	last := time.Now()
	for end := time.Now().Add(d); time.Now().Before(end); {
		tg, err := readTag(r)
		if err != nil {
			t.Fatal(err)
		}
		if (tg.typ != 8 && tg.typ != 9) || len(tg.body) < 2 || tg.body[1] != 1 {
			continue // metadata, sequence headers
		}
		if tg.typ != typ {
			other++
			continue
		}
		now := time.Now()
		if n > burst && now.Sub(last) > maxGap {
			maxGap = now.Sub(last)
		}
		last = now
		n++
	}
	return n, other, maxGap
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// stalledReader sends a request and never reads, with a tiny receive buffer
// so the server's writes block quickly.
func stalledReader(t *testing.T, url string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		_ = c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return err
	}}
	host := strings.TrimPrefix(url, "http://")
	path := host[strings.Index(host, "/"):]
	host = host[:strings.Index(host, "/")]
	c, err := d.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host)
	return c
}

func TestStalledReaderDoesNotDelayOthers(t *testing.T) {
	e := newEnv(t, flv.Config{StallTimeout: 2 * time.Second})
	_, s := e.publish(t)
	stalled := stalledReader(t, e.url(testGig))
	_ = stalled
	waitFor(t, 3*time.Second, "stalled viewer connected", func() bool { return e.flv.Viewers() == 1 })

	resp, err := http.Get(e.url(testGig))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	readFileHeader(t, body)
	video, _, maxGap := readMedia(t, body, 6*time.Second, 9, 3) // past the GOP burst
	t.Logf("healthy reader: %d video tags in 6 s, longest gap %v", video, maxGap.Round(time.Millisecond))
	if video < 150 || maxGap > 500*time.Millisecond {
		t.Fatalf("healthy reader was delayed: %d video tags, longest gap %v", video, maxGap)
	}
	waitFor(t, 10*time.Second, "stalled viewer dropped", func() bool { return e.flv.Viewers() == 1 && s.Stats().Viewers["flv"] == 1 })
	if c := e.flv.Counters(); c.Stalled != 1 || c.HTTPTags < uint64(video) || c.HTTPBytes == 0 || c.WSTags != 0 {
		t.Fatalf("counters %+v: want 1 stalled viewer and at least %d tags sent over HTTP", c, video)
	}
}

func TestCloseEndsViewers(t *testing.T) {
	e := newEnv(t, flv.Config{})
	e.publish(t)
	base := runtime.NumGoroutine()
	resp, err := http.Get(e.url(testGig))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	readFileHeader(t, body)
	start := time.Now()
	e.flv.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := io.Copy(io.Discard, body); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("response after Close: %v", err)
	}
	r2, err := http.Get(e.url(testGig))
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("request after Close: %d, want 503", r2.StatusCode)
	}
	if e.flv.Viewers() != 0 {
		t.Fatalf("%d viewers after Close", e.flv.Viewers())
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before the viewer:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// HTTP/2 connections cannot be hijacked: the handler falls back to flushed
// ResponseWriter writes.
func TestHTTP2FallbackPlays(t *testing.T) {
	e := newEnv(t, flv.Config{})
	e.publish(t)
	mux := http.NewServeMux()
	mux.Handle("GET /live/{file}", e.flv)
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/live/" + testGig + ".flv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/x-flv" {
		t.Fatalf("%s %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}
	body := bufio.NewReader(resp.Body)
	readFileHeader(t, body)
	checkStart(t, func() flvTag {
		tg, err := readTag(body)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	})
}

// An audio-only show (no video to carry the audio) plays steadily: every
// AAC frame arrives, none waits for video that never comes.
func TestAudioOnlyStreamPlays(t *testing.T) {
	e := newEnv(t, flv.Config{TrackWait: 3 * time.Second})
	// arealtime: ffmpeg's -re does not pace the lavfi sine source alone.
	ingesttest.Publish(t, e.rtmp.URL(testKey), ingesttest.Options{Extra: []string{"-vn", "-af", "arealtime"}})
	waitFor(t, 10*time.Second, "audio-only stream live", func() bool {
		s, ok := e.reg.Get(testGig)
		return ok && len(s.Tracks()) > 0
	})
	resp, err := http.Get(e.url(testGig))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	body := bufio.NewReader(resp.Body)
	if flags := readFileHeader(t, body); flags != 0x04 {
		t.Fatalf("flv header flags %#x, want audio only", flags)
	}
	audio, video, maxGap := readMedia(t, body, 3*time.Second, 8, 10) // past the join burst
	if video != 0 {
		t.Fatalf("%d video tags in an audio-only stream", video)
	}
	t.Logf("audio-only reader: %d AAC frames in 3 s, longest gap %v", audio, maxGap.Round(time.Millisecond))
	// 48 kHz AAC is ~47 frames a second.
	if audio < 100 || maxGap > 500*time.Millisecond {
		t.Fatalf("audio-only stream did not flow: %d frames in 3 s, longest gap %v", audio, maxGap)
	}
}

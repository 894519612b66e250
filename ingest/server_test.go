package ingest_test

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/handshake"

	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/syncbuf"
	"github.com/bookmygig/bookmygig/media"
)

const (
	testKey = "sk_live_0123456789abcdef"
	testGig = "gig-1"
)

type env struct {
	srv  *ingesttest.Server
	reg  *media.Registry
	logs *syncbuf.Buffer // the server's logs, to check what operators see

	mu     sync.Mutex
	events []media.Event
}

func newEnv(t *testing.T, cfg ingest.Config) *env {
	t.Helper()
	ingesttest.RequireFFmpeg(t)
	e := &env{logs: &syncbuf.Buffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.reg = media.NewRegistry(media.RegistryConfig{}, log)
	e.reg.OnEvent(func(ev media.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
	})
	e.srv = ingesttest.StartServer(t, cfg, ingesttest.Keys{testKey: testGig, "sk_other": "gig-2"}, e.reg, log)
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), testKey) {
			t.Errorf("the stream key appears in the logs:\n%s", e.logs.String())
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) eventTypes() []media.EventType {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]media.EventType, len(e.events))
	for i, ev := range e.events {
		out[i] = ev.Type
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
	return 0
}

// frameLog is a media.Reader that checks frames as a player would need them.
type frameLog struct {
	mu       sync.Mutex
	video    []*media.Frame
	audio    int
	badAVCC  error
	firstKey bool
}

func (f *frameLog) OnTrack(*media.Track) {}

func (f *frameLog) OnFrame(fr *media.Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fr.Codec == media.CodecAAC {
		f.audio++
		return
	}
	if len(f.video) == 0 {
		f.firstKey = fr.Keyframe
	}
	f.video = append(f.video, fr)
	for data := fr.Data; len(data) > 0; {
		n := 0
		if len(data) >= 4 {
			n = int(binary.BigEndian.Uint32(data))
		}
		if len(data) < 4 || n > len(data)-4 {
			f.badAVCC = errors.New("frame data is not 4-byte AVCC")
			return
		}
		if media.NALUType(data[4:4+n]) == media.NALUTypeAUD {
			f.badAVCC = errors.New("AUD left in frame")
		}
		data = data[4+n:]
	}
}

func (f *frameLog) counts() (video, audio int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.video), f.audio
}

func TestFFmpegPublishMakesGigLive(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)

	v := s.Track(media.CodecH264)
	if v.H264.Width != 640 || v.H264.Height != 360 || v.H264.LengthSize != 4 {
		t.Fatalf("video track = %+v, want 640x360", v.H264)
	}
	a := s.Track(media.CodecAAC)
	if a.SampleRate != 48000 || a.Channels != 2 || a.AAC.ObjectType != 2 {
		t.Fatalf("audio track = %+v %+v, want AAC-LC 48 kHz stereo", a, a.AAC)
	}
	if s.Source() != "rtmp" {
		t.Fatalf("source = %q", s.Source())
	}

	rec := &frameLog{}
	detach, err := s.Attach(rec, true)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	time.Sleep(3500 * time.Millisecond)
	st := s.Stats()
	if st.Video == nil || st.Video.FPS < 25 || st.Video.FPS > 35 {
		t.Fatalf("stats video = %+v, want ~30 fps", st.Video)
	}
	if st.Video.Width != 640 || st.Video.BFrames || len(st.Audio) != 1 || st.Audio[0].SampleRate != 48000 {
		t.Fatalf("stats = %+v", st)
	}
	nv, na := rec.counts()
	rec.mu.Lock()
	firstKey, bad := rec.firstKey, rec.badAVCC
	var prev time.Duration = -1
	keys := 0
	for _, f := range rec.video {
		if f.DTS <= prev {
			t.Fatalf("video DTS not increasing: %v after %v", f.DTS, prev)
		}
		prev = f.DTS
		if f.Keyframe {
			keys++
		}
		if f.CTS != 0 {
			t.Fatalf("CTS %v with -bf 0", f.CTS)
		}
	}
	rec.mu.Unlock()
	if !firstKey || bad != nil || nv < 90 || na < 120 || keys < 2 {
		t.Fatalf("reader got %d video (%d keyframes, first key %v, avcc %v) and %d audio frames", nv, keys, firstKey, bad, na)
	}

	pub.Stop()
	if err := pub.Wait(t, 10*time.Second); err != nil && !strings.Contains(err.Error(), "255") {
		t.Logf("ffmpeg exit: %v", err)
	}
	waitFor(t, 5*time.Second, "unpublish after ffmpeg stopped", func() bool {
		_, live := e.reg.Get(testGig)
		return !live
	})
	if got := e.eventTypes(); len(got) != 2 || got[0] != media.Published || got[1] != media.Unpublished {
		t.Fatalf("events = %v, want Published then Unpublished", got)
	}
	waitFor(t, 5*time.Second, "connection untracked", func() bool { return e.srv.Conns() == 0 })
}

func TestWrongKeyIsRefused(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	pub := ingesttest.Publish(t, e.srv.URL("sk_wrong_key_987654"), ingesttest.Options{})
	err := pub.Wait(t, 10*time.Second)
	if err == nil {
		t.Fatal("ffmpeg exited 0 with a wrong key")
	}
	if !strings.Contains(pub.Stderr(), "Stream key not recognised") {
		t.Errorf("ffmpeg did not show the refusal reason: %s", pub.Stderr())
	}
	if n := len(e.reg.Streams()); n != 0 || len(e.eventTypes()) != 0 {
		t.Fatalf("%d streams published with a wrong key", n)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "unknown stream key") || strings.Contains(logs, "sk_wrong_key_987654") {
		t.Fatalf("logs must say the key was unknown without showing it:\n%s", logs)
	}
	if c := e.srv.Counters(); c.KeysRefused != 1 {
		t.Fatalf("counters %+v, want 1 key refused", c)
	}
}

func TestSecondPublisherIsRefusedWhileFirstIsHealthy(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	first := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	second := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	if err := second.Wait(t, 10*time.Second); err == nil {
		t.Fatal("second publisher exited 0")
	}
	if !strings.Contains(second.Stderr(), "already live") {
		t.Errorf("second ffmpeg did not show why: %s", second.Stderr())
	}
	if s, ok := e.reg.Get(testGig); !ok || s != first || first.Closed() {
		t.Fatal("the first publisher lost the gig")
	}
	n := len(first.GOP())
	time.Sleep(500 * time.Millisecond)
	if first.LastWrite().Before(time.Now().Add(-300*time.Millisecond)) || len(e.eventTypes()) != 1 {
		t.Fatalf("first stream stalled after the refusal (gop %d)", n)
	}
}

func TestKilledPublisherIsUnpublished(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	pub.Kill()
	took := waitFor(t, 10*time.Second, "unpublish after SIGKILL", func() bool { return s.Closed() })
	t.Logf("unpublished %v after SIGKILL", took)
	if _, live := e.reg.Get(testGig); live {
		t.Fatal("gig still live")
	}
}

func TestFrozenPublisherIsUnpublishedAfterReadTimeout(t *testing.T) {
	e := newEnv(t, ingest.Config{ReadTimeout: 2 * time.Second})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	pub.Freeze() // socket stays open, nothing arrives
	took := waitFor(t, 6*time.Second, "unpublish of a silent publisher", func() bool { return s.Closed() })
	if took < 1500*time.Millisecond {
		t.Fatalf("unpublished after %v, before the read timeout", took)
	}
	t.Logf("silent publisher unpublished after %v (ReadTimeout 2s)", took)
}

func TestUnsupportedCodecClosesConnection(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{VideoCodec: "flv"})
	if err := pub.Wait(t, 10*time.Second); err == nil {
		t.Fatal("ffmpeg exited 0 although the server closed the connection")
	}
	waitFor(t, 5*time.Second, "gig unpublished", func() bool {
		_, live := e.reg.Get(testGig)
		return !live && len(e.eventTypes()) == 2
	})
	if logs := e.logs.String(); !strings.Contains(logs, "need H.264") {
		t.Fatalf("no clear log line about the codec:\n%s", logs)
	}
}

// rtmpHandshake dials the server and completes the client handshake.
func rtmpHandshake(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return c
}

// closedByServer reports whether the server closed c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func TestBadClientsDoNotAffectLiveShow(t *testing.T) {
	e := newEnv(t, ingest.Config{HandshakeTimeout: time.Second, MaxMessageBytes: 256 << 10})
	ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	rec := &frameLog{}
	detach, err := s.Attach(rec, false)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()

	t.Run("garbage bytes", func(t *testing.T) {
		c, err := net.Dial("tcp", e.srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		junk := make([]byte, 8192)
		_, _ = rand.Read(junk)
		_, _ = c.Write(junk)
		if !closedByServer(c, 3*time.Second) {
			t.Fatal("server kept a garbage connection open")
		}
	})
	t.Run("half handshake", func(t *testing.T) {
		c, err := net.Dial("tcp", e.srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write(append([]byte{3}, make([]byte, 700)...)) // C0 + part of C1
		start := time.Now()
		if !closedByServer(c, 4*time.Second) {
			t.Fatal("half handshake not closed after HandshakeTimeout")
		}
		t.Logf("half handshake closed after %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("chunk with zero message length", func(t *testing.T) {
		c := rtmpHandshake(t, e.srv.Addr)
		// fmt 0, csid 3, timestamp 0, length 0, type 20 (AMF0 command), stream 0:
		// go-rtmp panics ("invalid state") on this.
		_, _ = c.Write([]byte{0x03, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0})
		if !closedByServer(c, 3*time.Second) {
			t.Fatal("connection with a bad chunk stayed open")
		}
		waitFor(t, 3*time.Second, "a log line for the bad chunk", func() bool {
			return strings.Contains(e.logs.String(), "malformed rtmp chunk stream")
		})
	})
	t.Run("connect whose argument is not an object", func(t *testing.T) {
		c := rtmpHandshake(t, e.srv.Addr)
		// A connect command whose argument is not an object: go-rtmp's
		// decoder panics on the type assertion.
		body := []byte{0x02, 0, 7, 'c', 'o', 'n', 'n', 'e', 'c', 't', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x02, 0, 1, 'x'}
		hdr := []byte{0x03, 0, 0, 0, 0, 0, byte(len(body)), 20, 0, 0, 0, 0}
		_, _ = c.Write(append(hdr, body...))
		if !closedByServer(c, 3*time.Second) {
			t.Fatal("connection with a bad connect stayed open")
		}
	})
	t.Run("absurd message size", func(t *testing.T) {
		c := rtmpHandshake(t, e.srv.Addr)
		// A 16 MiB video message on csid 4, sent in 128-byte chunks.
		hdr := []byte{0x04, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0}
		_, _ = c.Write(append(hdr, make([]byte, 128)...))
		chunk := append([]byte{0xc4}, make([]byte, 128)...)
		sent := 128
		for sent < 16<<20 {
			_ = c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			if _, err := c.Write(chunk); err != nil {
				break
			}
			sent += 128
		}
		if sent > 2<<20 {
			t.Fatalf("server accepted %d bytes of one message (cap 256 KiB)", sent)
		}
		t.Logf("server closed the connection after %d bytes", sent)
	})

	if got, ok := e.reg.Get(testGig); !ok || got != s || s.Closed() {
		t.Fatal("the live show was affected")
	}
	v0, _ := rec.counts()
	time.Sleep(time.Second)
	v1, _ := rec.counts()
	if v1-v0 < 20 {
		t.Fatalf("live show got %d frames in the last second", v1-v0)
	}
	if st := s.Stats(); st.Video.FPS < 25 {
		t.Fatalf("live show fps %.1f after the bad clients", st.Video.FPS)
	}
}

// goroutinesSettle waits for the goroutine count to fall back to base.
func goroutinesSettle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines left, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestMaxConnsRefusesExtraConnectionsWhenAllPublish(t *testing.T) {
	e := newEnv(t, ingest.Config{MaxConns: 1})
	ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	c, err := net.Dial("tcp", e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{3})
	if !closedByServer(c, 2*time.Second) {
		t.Fatal("connection over MaxConns stayed open")
	}
	// The line may come a moment after the close.
	for deadline := time.Now().Add(2 * time.Second); !strings.Contains(e.logs.String(), "too many rtmp connections"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no log line for the refused connection")
		}
	}
	if c := e.srv.Counters(); c.ConnsRefused != 1 || c.KeysRefused != 0 || c.Evicted != 0 {
		t.Fatalf("counters %+v, want 1 connection refused", c)
	}
	if _, live := e.reg.Get(testGig); !live {
		t.Fatal("the publisher lost its gig")
	}
}

func TestCloseEndsPublishersAndWaits(t *testing.T) {
	base := runtime.NumGoroutine()
	defer goroutinesSettle(t, base)
	e := newEnv(t, ingest.Config{})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	idle, err := net.Dial("tcp", e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	start := time.Now()
	e.srv.Close()
	e.srv.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if !s.Closed() || e.srv.Conns() != 0 {
		t.Fatalf("after Close: stream closed %v, conns %d", s.Closed(), e.srv.Conns())
	}
	if err := pub.Wait(t, 10*time.Second); err == nil {
		t.Log("ffmpeg exited 0 after the server closed")
	}
	if !closedByServer(idle, time.Second) {
		t.Fatal("idle connection still open after Close")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	reg := media.NewRegistry(media.RegistryConfig{}, nil)
	if _, err := ingest.New(ingest.Config{MaxMessageBytes: 10}, ingesttest.Keys{}, reg, nil); err == nil {
		t.Fatal("tiny MaxMessageBytes accepted")
	}
	if _, err := ingest.New(ingest.Config{}, nil, reg, nil); err == nil {
		t.Fatal("nil KeyResolver accepted")
	}
}

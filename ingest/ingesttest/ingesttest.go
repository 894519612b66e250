// Package ingesttest starts a real RTMP ingest and real ffmpeg publishers
// for tests of the packages that read from media streams.
package ingesttest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/internal/syncbuf"
	"github.com/bookmygig/bookmygig/media"
)

// Keys is a map KeyResolver: stream key -> gig ID.
type Keys map[string]string

// ResolveStreamKey implements access.KeyResolver.
func (k Keys) ResolveStreamKey(_ context.Context, key string) (string, error) {
	if g, ok := k[key]; ok {
		return g, nil
	}
	return "", access.ErrUnknownKey
}

var _ access.KeyResolver = Keys(nil)

// Server is a running ingest on 127.0.0.1.
type Server struct {
	*ingest.Server
	Addr string
	Reg  *media.Registry
}

// StartServer starts an ingest for keys on a free port; it is closed when
// the test ends.
func StartServer(t testing.TB, cfg ingest.Config, keys Keys, reg *media.Registry, log *slog.Logger) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ingest.New(cfg, keys, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ingest.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return &Server{Server: srv, Addr: ln.Addr().String(), Reg: reg}
}

// URL returns the publish URL for key.
func (s *Server) URL(key string) string { return "rtmp://" + s.Addr + "/live/" + key }

// Options shape the test signal.
type Options struct {
	Width, Height, FPS int
	// GOP is the keyframe interval in frames. Default 60.
	GOP int
	// VideoBitrate like "2500k"; default is x264's CRF.
	VideoBitrate string
	// Duration stops the publisher by itself after this long (0: runs
	// until stopped).
	Duration time.Duration
	// VideoCodec overrides libx264 (e.g. "flv" for an unsupported codec).
	VideoCodec string
	// Extra ffmpeg arguments placed before the output.
	Extra []string
	// File, when set, is published as is (-c copy) in a loop instead of
	// encoding the test signal live: no encoder CPU or encoder jitter in
	// benchmarks. See EncodeClip.
	File string
}

// EncodeClip encodes d of the test signal to an FLV file in dir, for
// Options.File.
func EncodeClip(t testing.TB, dir string, o Options, d time.Duration) string {
	t.Helper()
	RequireFFmpeg(t)
	o.fill()
	path := fmt.Sprintf("%s/clip_%dx%d_%d.flv", dir, o.Width, o.Height, o.FPS)
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, o.inputArgs()...)
	args = append(args, "-t", strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	args = append(args, o.codecArgs()...)
	args = append(args, "-f", "flv", path)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("encode clip: %v\n%s", err, out)
	}
	return path
}

func (o *Options) fill() {
	if o.Width == 0 {
		o.Width, o.Height = 640, 360
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.GOP == 0 {
		o.GOP = 60
	}
}

func (o *Options) inputArgs() []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", o.Width, o.Height, o.FPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"}
}

func (o *Options) codecArgs() []string {
	var args []string
	if o.VideoCodec != "" {
		args = append(args, "-c:v", o.VideoCodec)
	} else {
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
			"-bf", "0", "-g", strconv.Itoa(o.GOP), "-pix_fmt", "yuv420p")
		if o.VideoBitrate != "" {
			args = append(args, "-b:v", o.VideoBitrate, "-maxrate", o.VideoBitrate, "-bufsize", o.VideoBitrate)
		}
	}
	return append(args, "-c:a", "aac", "-ac", "2", "-b:a", "128k")
}

// Publisher is a running ffmpeg.
type Publisher struct {
	Cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	done   chan struct{}
	err    error
}

// RequireFFmpeg fails the test with an install hint when ffmpeg/ffprobe are
// missing.
func RequireFFmpeg(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install it with `apt-get install -y ffmpeg` (or `make deps-test`)", bin)
		}
	}
}

// Publish starts ffmpeg publishing testsrc2 + a 440 Hz sine (H.264 + AAC
// 48 kHz stereo) to url in real time. It is killed when the test ends.
func Publish(t testing.TB, url string, o Options) *Publisher {
	t.Helper()
	RequireFFmpeg(t)
	o.fill()
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re"}
	if o.File != "" {
		args = append(args, "-stream_loop", "-1", "-i", o.File)
	} else {
		args = append(args, o.inputArgs()...)
	}
	if o.Duration > 0 {
		args = append(args, "-t", strconv.FormatFloat(o.Duration.Seconds(), 'f', 3, 64))
	}
	if o.File != "" {
		args = append(args, "-c", "copy")
	} else {
		args = append(args, o.codecArgs()...)
	}
	args = append(args, o.Extra...)
	args = append(args, "-f", "flv", url)
	p := &Publisher{Cmd: exec.Command("ffmpeg", args...), stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.Cmd.Stderr = p.stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg: %v", err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		<-p.done
	})
	return p
}

// Kill sends SIGKILL (a crashed encoder: the kernel closes the socket).
func (p *Publisher) Kill() { _ = p.Cmd.Process.Signal(syscall.SIGKILL) }

// Freeze sends SIGSTOP (a hung encoder or a dead network: the socket stays
// open and silent).
func (p *Publisher) Freeze() { _ = p.Cmd.Process.Signal(syscall.SIGSTOP) }

// Stop asks ffmpeg to finish cleanly (it sends FCUnpublish/deleteStream).
func (p *Publisher) Stop() { _ = p.Cmd.Process.Signal(syscall.SIGINT) }

// Wait waits up to d for ffmpeg to exit and returns its error (nil on exit
// status 0); it fails the test on timeout.
func (p *Publisher) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("ffmpeg still running after %v; stderr:\n%s", d, p.Stderr())
		return nil
	}
}

// Exited reports whether ffmpeg has exited.
func (p *Publisher) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stderr returns what ffmpeg printed.
func (p *Publisher) Stderr() string { return p.stderr.String() }

// WaitLive waits until gig has a stream with an H.264 track and an AAC
// track and at least one frame written.
func WaitLive(t testing.TB, reg *media.Registry, gig string, d time.Duration) *media.Stream {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s, ok := reg.Get(gig); ok && s.Track(media.CodecH264) != nil && s.Track(media.CodecAAC) != nil && len(s.GOP()) > 0 {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gig %s not live with H.264 + AAC after %v", gig, d)
	return nil
}

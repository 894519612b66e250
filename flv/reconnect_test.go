package flv_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/access/accesstest"
	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/media"
)

// recorder reads one viewer's tags on its own goroutine (so that it never
// stalls) and keeps what the checks need.
type recorder struct {
	mu     sync.Mutex
	tags   []recTag
	err    error // why reading stopped
	endAt  time.Time
	closed chan struct{}
}

type recTag struct {
	typ    byte
	ts     uint32
	seqHdr bool
	key    bool
	at     time.Time
}

func record(next func() (flvTag, error)) *recorder {
	r := &recorder{closed: make(chan struct{})}
	go func() {
		defer close(r.closed)
		for {
			tg, err := next()
			r.mu.Lock()
			if err != nil {
				r.err, r.endAt = err, time.Now()
				r.mu.Unlock()
				return
			}
			if tg.typ == 8 || tg.typ == 9 {
				r.tags = append(r.tags, recTag{typ: tg.typ, ts: tg.ts, seqHdr: len(tg.body) > 1 && tg.body[1] == 0, key: tg.isVideoKey(), at: time.Now()})
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) snapshot() ([]recTag, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recTag(nil), r.tags...), r.err
}

// afterSwitch returns the tags from the AVC sequence header that starts
// the n-th stream (n from 1), or nil.
func afterSwitch(tags []recTag, n int) []recTag {
	seen := 0
	for i, tg := range tags {
		if tg.typ == 9 && tg.seqHdr {
			if seen++; seen == n {
				return tags[i:]
			}
		}
	}
	return nil
}

func httpViewer(t *testing.T, url string) *recorder {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	body := bufio.NewReader(resp.Body)
	readFileHeader(t, body)
	return record(func() (flvTag, error) { return readTag(body) })
}

func wsViewer(t *testing.T, url string) *recorder {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, first, err := c.ReadMessage(); err != nil || len(first) != 13 {
		t.Fatalf("file header: %d bytes, %v", len(first), err)
	}
	return record(func() (flvTag, error) {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return flvTag{}, err
		}
		return readTag(bytes.NewReader(msg))
	})
}

// replace ends the publisher's stream the way a crashed encoder does and
// publishes a new one for the gig, as the encoder's reconnect does.
func (e *env) replace(t *testing.T, pub *ingesttest.Publisher, old *media.Stream) (*ingesttest.Publisher, *media.Stream) {
	t.Helper()
	pub.Kill()
	waitFor(t, 10*time.Second, "old stream unpublished", old.Closed)
	return e.publish(t)
}

// checkContinuous checks a viewer's tags across stream replacements: no
// timestamp goes back within a track, and every new stream starts with
// both sequence headers, after the last tag of the previous one, then a
// keyframe before any other video.
func checkContinuous(t *testing.T, name string, tags []recTag, streams int) {
	t.Helper()
	last := map[byte]uint32{}
	var lastAny uint32
	for i, tg := range tags {
		if tg.ts < last[tg.typ] {
			t.Fatalf("%s: tag %d (type %d) at %d ms after %d ms", name, i, tg.typ, tg.ts, last[tg.typ])
		}
		last[tg.typ] = tg.ts
		lastAny = max(lastAny, tg.ts)
	}
	for n := 2; n <= streams; n++ {
		from := afterSwitch(tags, n)
		before := tags[:len(tags)-len(from)]
		var prev uint32
		for _, tg := range before {
			prev = max(prev, tg.ts)
		}
		if len(from) < 2 || !from[1].seqHdr || from[1].typ != 8 {
			t.Fatalf("%s: stream %d does not start with the AVC and AAC sequence headers", name, n)
		}
		if from[0].ts <= prev {
			t.Fatalf("%s: stream %d starts at %d ms, not after %d ms", name, n, from[0].ts, prev)
		}
		for _, tg := range from[2:] {
			if tg.typ == 9 {
				if !tg.key {
					t.Fatalf("%s: stream %d's first video is not a keyframe", name, n)
				}
				if tg.ts-prev > 200 {
					t.Fatalf("%s: stream %d's first video at %d ms, %d ms after the last tag", name, n, tg.ts, tg.ts-prev)
				}
				break
			}
		}
	}
}

// HTTP-FLV and WS-FLV viewers keep their connections when the creator's
// encoder reconnects (twice): the new stream's frames arrive on the same
// connection, timestamps go on, and the viewer counts follow.
func TestViewersKeepConnectionAcrossStreamReplacement(t *testing.T) {
	e := newEnv(t, flv.Config{})
	pub, s := e.publish(t)
	viewers := map[string]*recorder{"http-flv": httpViewer(t, e.url(testGig)), "ws-flv": wsViewer(t, e.url(testGig))}
	time.Sleep(time.Second)
	for round := 2; round <= 3; round++ {
		pub, s = e.replace(t, pub, s)
		waitFor(t, 15*time.Second, "a second of the new stream at every viewer", func() bool {
			for _, r := range viewers {
				tags, err := r.snapshot()
				if err != nil {
					t.Fatalf("viewer's connection ended: %v", err)
				}
				video := 0
				for _, tg := range afterSwitch(tags, round) {
					if tg.typ == 9 && !tg.seqHdr {
						video++
					}
				}
				if video < 30 {
					return false
				}
			}
			return true
		})
		waitFor(t, 3*time.Second, "viewer counts on the new stream", func() bool {
			v := s.Stats().Viewers
			return v["flv"] == 1 && v["ws-flv"] == 1
		})
	}
	if n := e.flv.Viewers(); n != 2 {
		t.Fatalf("%d viewers, want 2", n)
	}
	for name, r := range viewers {
		tags, _ := r.snapshot()
		checkContinuous(t, name, tags, 3)
	}
}

// With no new stream within ReconnectGrace, viewers end as they did
// without it: the HTTP response ends cleanly, the WebSocket closes normally.
func TestViewersEndAfterReconnectGrace(t *testing.T) {
	const grace = time.Second
	e := newEnv(t, flv.Config{ReconnectGrace: grace})
	pub, s := e.publish(t)
	h, ws := httpViewer(t, e.url(testGig)), wsViewer(t, e.url(testGig))
	time.Sleep(500 * time.Millisecond)
	pub.Kill()
	waitFor(t, 10*time.Second, "stream unpublished", s.Closed)
	ended := time.Now()
	for name, r := range map[string]*recorder{"http-flv": h, "ws-flv": ws} {
		select {
		case <-r.closed:
		case <-time.After(grace + 5*time.Second):
			t.Fatalf("%s still open %v after the stream ended", name, grace+5*time.Second)
		}
		_, err := r.snapshot()
		if name == "http-flv" && !errors.Is(err, io.EOF) {
			t.Fatalf("%s did not end cleanly: %v", name, err)
		}
		if name == "ws-flv" && !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("%s did not close normally: %v", name, err)
		}
		if d := r.endAt.Sub(ended); d < grace-200*time.Millisecond {
			t.Fatalf("%s ended %v after the stream, before the %v grace", name, d, grace)
		}
	}
	if n := e.flv.Viewers(); n != 0 {
		t.Fatalf("%d viewers left", n)
	}
}

// ffmpeg decodes across a stream replacement without a single error (no
// "non monotonically increasing dts", no missing parameter sets).
func TestFFmpegDecodesAcrossStreamReplacement(t *testing.T) {
	e := newEnv(t, flv.Config{ReconnectGrace: 2 * time.Second})
	pub, s := e.publish(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-progress", "pipe:1", "-i", e.url(testGig), "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var frames atomic.Int64
	progress := make(chan struct{})
	go func() {
		defer close(progress)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "frame="); ok {
				if v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
					frames.Store(v)
				}
			}
		}
	}()
	waitFor(t, 10*time.Second, "ffmpeg decoding", func() bool { return frames.Load() > 30 })
	pub, s = e.replace(t, pub, s)
	before := frames.Load()
	time.Sleep(3 * time.Second)
	pub.Kill()
	waitFor(t, 10*time.Second, "stream unpublished", s.Closed)
	<-progress
	if err := cmd.Wait(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	after := frames.Load()
	t.Logf("ffmpeg decoded %d frames, %d of them from the new stream", after, after-before)
	if after-before < 60 {
		t.Fatalf("ffmpeg decoded %d frames of the new stream in 3 s", after-before)
	}
}

// Close does not wait for a grace to run out: viewers waiting for the
// gig's next stream end at once, and no goroutine is left.
func TestCloseEndsWaitingViewers(t *testing.T) {
	e := newEnv(t, flv.Config{ReconnectGrace: time.Minute})
	pub, s := e.publish(t)
	r := httpViewer(t, e.url(testGig))
	time.Sleep(300 * time.Millisecond)
	pub.Kill()
	waitFor(t, 10*time.Second, "stream unpublished", s.Closed)
	time.Sleep(200 * time.Millisecond)
	select {
	case <-r.closed:
		t.Fatal("viewer ended before the grace")
	default:
	}
	start := time.Now()
	e.flv.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	select {
	case <-r.closed:
	case <-time.After(3 * time.Second):
		t.Fatal("waiting viewer still open after Close")
	}
	if n := e.flv.Viewers(); n != 0 {
		t.Fatalf("%d viewers after Close", n)
	}
}

// A viewer waiting for the gig's next stream whose ticket ends goes at
// once, as a playing one does.
func TestWaitingViewerEndsWithItsPass(t *testing.T) {
	g := accesstest.NewGate(testGig)
	e := newEnv(t, flv.Config{Gate: g, ReconnectGrace: time.Minute})
	pub, s := e.publish(t)
	r := httpViewer(t, e.url(testGig)+"?ticket=tk_good")
	pass, _ := g.Last()
	time.Sleep(300 * time.Millisecond)
	pub.Kill()
	waitFor(t, 10*time.Second, "stream unpublished", s.Closed)
	time.Sleep(200 * time.Millisecond)
	pass.End(access.ErrTicketRevoked)
	select {
	case <-r.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("waiting viewer still open 2 s after its pass ended")
	}
	waitFor(t, time.Second, "viewer gone, pass released", func() bool { return e.flv.Viewers() == 0 && g.Releases(pass) == 1 })
}

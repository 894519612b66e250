package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
)

// slowCommandHeader starts a 60,000-byte AMF0 command that is never
// finished: what an idle attacker trickles, one byte at a time.
var slowCommandHeader = []byte{0x03, 0, 0, 0, 0, 0xea, 0x60, 20, 0, 0, 0, 0}

// idler keeps one idle connection open from src like an attacker would:
// handshake, then one byte a second; when the server closes it, it comes
// back after a short pause. It counts attempts and handshaken connections.
func idler(ctx context.Context, src, addr string, attempts, opened *atomic.Int64) {
	for ctx.Err() == nil {
		attempts.Add(1)
		c, err := handshakeFrom(src, addr)
		if err != nil {
			sleepCtx(ctx, 300*time.Millisecond)
			continue
		}
		opened.Add(1)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		buf := make([]byte, 64)
		for i := 0; ctx.Err() == nil; i++ {
			b := []byte{0}
			if i < len(slowCommandHeader) {
				b[0] = slowCommandHeader[i]
			}
			if _, err := c.Write(b); err != nil {
				break
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); !isTimeout(err) {
				break // closed by the server
			}
		}
		stop()
		c.Close()
		sleepCtx(ctx, 300*time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// TestFFmpegGoesLiveWhile300IdleConnectionsAreOpen is issue 17's scenario:
// 300 idle connections that trickle bytes and reconnect when closed, from
// 38 addresses (8 each, within MaxConnsPerIP), against MaxConns 256 as in
// production. Before the fix they filled every slot and ffmpeg was refused.
func TestFFmpegGoesLiveWhile300IdleConnectionsAreOpen(t *testing.T) {
	e := newEnv(t, ingest.Config{MaxConns: 256, MaxConnsPerIP: 8})
	const idle, perAddr = 300, 8
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var attempts, opened atomic.Int64
	for i := 0; i < idle; i++ {
		src := fmt.Sprintf("127.0.0.%d", 2+i/perAddr)
		wg.Add(1)
		go func() { defer wg.Done(); idler(ctx, src, e.srv.Addr, &attempts, &opened) }()
	}
	waitFor(t, 20*time.Second, "256 idle connections filling the server", func() bool { return e.srv.Conns() >= 256 })
	waitFor(t, 10*time.Second, "every idler tried", func() bool { return attempts.Load() >= idle })

	start := time.Now()
	ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{Width: 320, Height: 240, GOP: 30})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	took := time.Since(start)

	// The attack goes on; the publisher is never evicted.
	time.Sleep(2 * time.Second)
	if got, ok := e.reg.Get(testGig); !ok || got != s || s.Closed() {
		t.Fatal("the publisher lost its gig while idle connections kept coming")
	}
	if s.LastWrite().Before(time.Now().Add(-500 * time.Millisecond)) {
		t.Fatal("the live stream stalled")
	}
	c := e.srv.Counters()
	t.Logf("ffmpeg live %v after start with %d idle connections held open (%d connections opened in all); conns now %d; counters %+v",
		took.Round(time.Millisecond), idle, opened.Load(), e.srv.Conns(), c)
	if c.Evicted == 0 {
		t.Fatalf("no idle connection was evicted: counters %+v", c)
	}
}

// TestTricklingConnectionIsClosedAtPublishDeadline: one byte a second keeps
// resetting a read timeout, but not the publish deadline counted from
// accept. Before the fix it stayed open for as long as it trickled.
func TestTricklingConnectionIsClosedAtPublishDeadline(t *testing.T) {
	e := newEnv(t, ingest.Config{PublishTimeout: 3 * time.Second, ReadTimeout: 10 * time.Second})
	start := time.Now()
	c, err := handshakeFrom("127.0.0.1", e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	closedAfter := time.Duration(0)
	for i := 0; time.Since(start) < 8*time.Second; i++ {
		b := []byte{0}
		if i < len(slowCommandHeader) {
			b[0] = slowCommandHeader[i]
		}
		if _, err := c.Write(b); err != nil {
			closedAfter = time.Since(start)
			break
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); !isTimeout(err) {
			closedAfter = time.Since(start)
			break
		}
	}
	if closedAfter == 0 {
		t.Fatalf("a connection trickling one byte a second was still open after %v (PublishTimeout 3s)", time.Since(start).Round(time.Millisecond))
	}
	t.Logf("trickling connection closed %v after dial (PublishTimeout 3s)", closedAfter.Round(time.Millisecond))
	if closedAfter < 2500*time.Millisecond || closedAfter > 4500*time.Millisecond {
		t.Fatalf("closed after %v, want about 3s", closedAfter)
	}
	waitFor(t, 2*time.Second, "counter and log", func() bool {
		return e.srv.Counters().PrePublishClosed == 1 && strings.Contains(e.logs.String(), "did not publish in time")
	})
}

// TestPerIPCapRefusesAtAccept: the connection over MaxConnsPerIP from one
// address gets no handshake at all, while another address still connects,
// and a freed slot can be used again.
func TestPerIPCapRefusesAtAccept(t *testing.T) {
	e := newEnv(t, ingest.Config{MaxConnsPerIP: 3})
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := handshakeFrom("127.0.0.2", e.srv.Addr)
		if err != nil {
			t.Fatalf("connection %d from 127.0.0.2: %v", i+1, err)
		}
		defer c.Close()
		held = append(held, c)
	}
	over, err := dialFrom("127.0.0.2", e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	_, _ = over.Write(append([]byte{3}, make([]byte, 1536)...))
	_ = over.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := over.Read(make([]byte, 1))
	if n != 0 || isTimeout(err) {
		t.Fatalf("4th connection from one address: read %d bytes, err %v; want closed without a handshake", n, err)
	}
	other, err := handshakeFrom("127.0.0.3", e.srv.Addr)
	if err != nil {
		t.Fatalf("another address was refused: %v", err)
	}
	defer other.Close()
	if c := e.srv.Counters(); c.IPConnsRefused != 1 || c.ConnsRefused != 0 {
		t.Fatalf("counters %+v, want 1 refused for its address", c)
	}
	if !strings.Contains(e.logs.String(), "too many rtmp connections from one address") {
		t.Fatal("no log line for the refusal")
	}
	held[0].Close()
	waitFor(t, 2*time.Second, "slot freed", func() bool { return e.srv.Conns() == 3 })
	again, err := handshakeFrom("127.0.0.2", e.srv.Addr)
	if err != nil {
		t.Fatalf("freed slot not reusable: %v", err)
	}
	again.Close()
}

// TestFullServerEvictsOldestNonPublishing: at MaxConns a new connection
// closes the oldest one that has not published, instead of being refused.
func TestFullServerEvictsOldestNonPublishing(t *testing.T) {
	e := newEnv(t, ingest.Config{MaxConns: 3, MaxConnsPerIP: 10})
	var conns []net.Conn
	for i := 0; i < 4; i++ {
		c, err := handshakeFrom("127.0.0.1", e.srv.Addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	if !closedByServer(conns[0], 2*time.Second) {
		t.Fatal("the oldest idle connection was not evicted")
	}
	for i, c := range conns[1:] {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
			t.Fatalf("connection %d closed too: %v", i+2, err)
		}
	}
	if c := e.srv.Counters(); c.Evicted != 1 || c.ConnsRefused != 0 {
		t.Fatalf("counters %+v, want 1 evicted", c)
	}
}

// heapAfterGC returns the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHugePrePublishMessagesDoNotGrowHeap: connections that announce huge
// messages (after raising the chunk size to its maximum, or in 128-byte
// chunks) and stream megabytes before publishing are closed at once (over
// MaxMessageBytes) or after PrePublishBytes; the server's heap does not
// grow by what they sent. Before the fix go-rtmp buffered up to
// MaxMessageBytes (8 MiB) for each.
func TestHugePrePublishMessagesDoNotGrowHeap(t *testing.T) {
	e := newEnv(t, ingest.Config{MaxConnsPerIP: 64})
	const conns, perConn = 24, 4 << 20
	zeros := make([]byte, 32<<10)
	// fmt-3 chunks of 128 bytes continuing a message on chunk stream 6.
	small := make([]byte, 0, 129*200)
	for i := 0; i < 200; i++ {
		small = append(small, 0xc6)
		small = append(small, make([]byte, 128)...)
	}
	before := heapAfterGC()
	var wg sync.WaitGroup
	var sentTotal atomic.Int64
	held := make([]net.Conn, conns)
	for i := 0; i < conns; i++ {
		c, err := handshakeFrom("127.0.0.1", e.srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held[i] = c
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			// A 16 MiB video message announced before publish (over
			// MaxMessageBytes), or a 6 MiB one (under it).
			hdr := []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0}
			if i%4 >= 2 {
				hdr[4], hdr[5], hdr[6] = 0x60, 0, 0
			}
			body := small
			if i%2 == 1 {
				hdr = append(hdr, make([]byte, 128)...) // the first chunk's payload
			}
			if i%2 == 0 {
				// Chunk size to the maximum first: then the whole message
				// is one chunk.
				hdr = append(setChunkSize(0x7fffffff), hdr...)
				body = zeros
			}
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(hdr); err != nil {
				return
			}
			for sent := 0; sent < perConn; {
				n, err := c.Write(body)
				sent += n
				sentTotal.Add(int64(n))
				if err != nil {
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	// The clients keep their sockets open: whatever the server buffered
	// for them is still live now.
	time.Sleep(200 * time.Millisecond)
	after := heapAfterGC()
	growth := int64(after) - int64(before)
	c := e.srv.Counters()
	t.Logf("%d connections sent %.1f MiB before publishing; server heap grew %.2f MiB (%d -> %d); counters %+v",
		conns, float64(sentTotal.Load())/(1<<20), float64(growth)/(1<<20), before, after, c)
	if growth > 8<<20 {
		t.Fatalf("heap grew %.1f MiB for %d pre-publish connections", float64(growth)/(1<<20), conns)
	}
	if c.PrePublishClosed+c.Malformed != conns {
		t.Fatalf("counters %+v, want all %d connections closed before publishing", c, conns)
	}
	waitFor(t, 3*time.Second, "all connections closed", func() bool { return e.srv.Conns() == 0 })
}

// amfString is an AMF0 string.
func amfString(s string) []byte {
	return append([]byte{0x02, byte(len(s) >> 8), byte(len(s))}, s...)
}

// TestAMFAllocationBombsAreRefused: go-amf0 allocates a strict array's
// declared length before reading it; a 40-byte connect declaring 2^31-1
// elements made the runtime abort the whole process with "fatal error:
// out of memory" (not a recoverable panic). Deep nesting recurses without
// limit.
func TestAMFAllocationBombsAreRefused(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	connectWith := func(v []byte) []byte {
		b := append(amfString("connect"), 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0) // tx 1.0
		b = append(b, 0x03)
		b = append(b, 0, 3, 'a', 'p', 'p')
		b = append(b, amfString("live")...)
		b = append(b, 0, 1, 'x')
		b = append(b, v...)
		return append(b, 0, 0, 0x09)
	}
	nested := make([]byte, 0, 40000)
	for i := 0; i < 10000; i++ {
		nested = append(nested, 0x03, 0, 1, 'a')
	}
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"strict array of 2^31-1 elements", chunk(3, 20, 0, connectWith([]byte{0x0a, 0x7f, 0xff, 0xff, 0xff, 0x05}))},
		{"strict array of 2^28 elements", chunk(3, 20, 0, connectWith([]byte{0x0a, 0x10, 0, 0, 0, 0x05}))},
		{"data message with a huge strict array", chunk(3, 18, 0, append(amfString("onTextData"), 0x0a, 0x7f, 0xff, 0xff, 0xff, 0x00))},
		{"objects nested 10,000 deep", append(setChunkSize(1<<16), chunk(3, 20, 0, connectWith(nested))...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := handshakeFrom("127.0.0.1", e.srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.msg); err != nil {
				t.Fatal(err)
			}
			if !closedByServer(c, 3*time.Second) {
				t.Fatal("connection stayed open")
			}
		})
	}
	if c := e.srv.Counters(); c.Malformed != 4 {
		t.Fatalf("counters %+v, want 4 malformed", c)
	}
	// The process is alive and still serves.
	ok, err := handshakeFrom("127.0.0.1", e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ok.Close()
}

// TestLogsNeverShowSecrets: secrets in RTMP app names and tcUrl, and the
// stream key where a long log line is cut, never reach the logs.
func TestLogsNeverShowSecrets(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	secrets := []string{"sk_appsecret_42", "mt_manage_secret_43", "tk_ticket_secret_44", "sk_tcurl_secret_45"}

	for _, app := range []string{"sk_appsecret_42", "live/mt_manage_secret_43", "mylive_tk_ticket_secret_44"} {
		c, err := handshakeFrom("127.0.0.1", e.srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write(command(t, 0, "connect", 1, map[string]any{"app": app, "tcUrl": "rtmp://127.0.0.1/" + app}))
		if !closedByServer(c, 3*time.Second) {
			t.Fatalf("connect to app %q not refused", app)
		}
	}

	// A publisher whose key (known to the server once it publishes) shows
	// up in commands the server logs: with every padding one of the lines
	// is cut at 300 bytes in the middle of the key.
	c, err := handshakeFrom("127.0.0.1", e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []byte
	out = append(out, setChunkSize(1<<16)...)
	out = append(out, command(t, 0, "connect", 1, map[string]any{"app": "live", "tcUrl": "rtmp://127.0.0.1/live?k=sk_tcurl_secret_45"})...)
	out = append(out, command(t, 0, "createStream", 2, nil)...)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := c.Write(command(t, 1, "publish", 3, nil, testKey, "live")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "raw publisher live", func() bool { _, ok := e.reg.Get(testGig); return ok })
	out = out[:0]
	for pad := 150; pad <= 320; pad++ {
		arg := strings.Repeat("x", pad) + testKey + " mt_manage_secret_43"
		out = append(out, command(t, 1, "mysteryCommand", 4, nil, arg)...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the commands logged", func() bool {
		return strings.Count(e.logs.String(), "mysteryCommand") >= 171
	})
	c.Close()
	waitFor(t, 3*time.Second, "publisher gone", func() bool { _, ok := e.reg.Get(testGig); return !ok })

	logs := e.logs.String()
	for _, s := range append(secrets, testKey[:10], "secret_4") {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
	if !strings.Contains(logs, "[redacted]") || !strings.Contains(logs, "unknown rtmp application") {
		t.Errorf("expected the refusals logged with the secrets masked")
	}
	if t.Failed() {
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "secret_4") || strings.Contains(l, testKey[:10]) {
				fmt.Fprintln(os.Stderr, l)
			}
		}
	}
}

package chat

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testLogger writes through t.Log and records lines for assertions.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	t     testing.TB
	done  bool
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, string(p))
	return len(p), nil
}

func (r *logRecorder) count(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func testLogger(t testing.TB) *slog.Logger {
	l, _ := recordingLogger(t)
	return l
}

func recordingLogger(t testing.TB) (*slog.Logger, *logRecorder) {
	rec := &logRecorder{t: t}
	return slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug})), rec
}

func sortStrings(s []string) { slices.Sort(s) }

// node is one Hub behind its own HTTP server, as one server process would be.
type node struct {
	hub *Hub
	srv *httptest.Server
	log *logRecorder
}

// forwardedIP is a Config.ClientIP for tests: the last X-Forwarded-For
// entry, as behind a trusted proxy.
func forwardedIP(r *http.Request) string {
	v := r.Header.Get("X-Forwarded-For")
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

func testConfig() Config {
	return Config{
		PresencePush:      50 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		PresenceTTL:       2 * time.Second,
		BrokerTimeout:     time.Second,
	}
}

func newNode(t *testing.T, cfg Config, b Broker) *node {
	t.Helper()
	log, rec := recordingLogger(t)
	h, err := New(cfg, b, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/gigs/{id}/chat", h.ServeWS)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	return &node{hub: h, srv: srv, log: rec}
}

func (n *node) wsURL(gig string) string {
	return "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/api/gigs/" + gig + "/chat"
}

// wsClient is a test chat client; a goroutine reads every frame into frames.
type wsClient struct {
	t      testing.TB
	conn   *websocket.Conn
	frames chan map[string]any
	closed chan error // receives the read error that ended the connection
	user   string
}

func dial(t testing.TB, n *node, gig string) *wsClient {
	t.Helper()
	return dialHeader(t, n, gig, nil)
}

// dialHeader dials with extra request headers (X-Forwarded-For for a hub
// with ClientIP forwardedIP, to come from another address).
func dialHeader(t testing.TB, n *node, gig string, hdr http.Header) *wsClient {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(n.wsURL(gig), hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", gig, err)
	}
	c := &wsClient{t: t, conn: conn, frames: make(chan map[string]any, 100000), closed: make(chan error, 1)}
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				c.closed <- err
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				c.closed <- fmt.Errorf("server sent non-JSON %q", data)
				return
			}
			c.frames <- m
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	var data []byte
	switch v := v.(type) {
	case string:
		data = []byte(v)
	default:
		data, _ = json.Marshal(v)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame of type typ, skipping presence and system
// frames unless asked for, and failing on anything else that is skipped.
func (c *wsClient) next(typ string) map[string]any {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.frames:
			if m["type"] == typ {
				return m
			}
			if m["type"] == "presence" || m["type"] == "system" || m["type"] == "bans" {
				continue
			}
			c.t.Fatalf("waiting for %q, got %v", typ, m)
		case err := <-c.closed:
			c.closed <- err // for expectClosed
			select {
			case m := <-c.frames: // frames read before the close come first
				if m["type"] == typ {
					return m
				}
				if m["type"] == "presence" || m["type"] == "system" {
					continue
				}
				c.t.Fatalf("waiting for %q, got %v", typ, m)
			default:
			}
			c.t.Fatalf("waiting for %q, connection closed: %v", typ, err)
		case <-deadline:
			c.t.Fatalf("no %q frame within 5s", typ)
		}
	}
}

// expectClosed waits until the server closes the connection and returns the close code.
func (c *wsClient) expectClosed() int {
	c.t.Helper()
	select {
	case err := <-c.closed:
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		return -1
	case <-time.After(5 * time.Second):
		c.t.Fatal("connection not closed within 5s")
		return 0
	}
}

// quiet fails if a frame of type typ arrives within d.
func (c *wsClient) quiet(typ string, d time.Duration) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.frames:
			if m["type"] == typ {
				c.t.Fatalf("unexpected %q frame: %v", typ, m)
			}
		case <-deadline:
			return
		}
	}
}

// join joins with name and returns the history it got.
func (c *wsClient) join(name string, extra ...string) []any {
	c.t.Helper()
	msg := map[string]any{"type": "join", "name": name}
	for i := 0; i+1 < len(extra); i += 2 {
		msg[extra[i]] = extra[i+1]
	}
	c.send(msg)
	j := c.next("joined")
	c.user, _ = j["user"].(string)
	h := c.next("history")
	msgs, _ := h["messages"].([]any)
	return msgs
}

func (c *wsClient) say(text string) { c.send(map[string]any{"type": "message", "text": text}) }

// waitPresence waits until a presence frame says want viewers.
func (c *wsClient) waitPresence(want int) {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	last := -1.0
	for {
		select {
		case m := <-c.frames:
			if m["type"] == "presence" {
				last = m["viewers"].(float64)
				if int(last) == want {
					return
				}
			}
		case err := <-c.closed:
			c.t.Fatalf("waiting for presence %d: closed: %v", want, err)
		case <-deadline:
			c.t.Fatalf("presence never reached %d (last %v)", want, last)
		}
	}
}

func texts(msgs []any) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.(map[string]any)["text"].(string))
	}
	return out
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// skipTo returns the next frame of type typ, ignoring every other frame.
func (c *wsClient) skipTo(typ string) map[string]any {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.frames:
			if m["type"] == typ {
				return m
			}
		case err := <-c.closed:
			c.closed <- err
			for {
				select {
				case m := <-c.frames:
					if m["type"] == typ {
						return m
					}
					continue
				default:
				}
				break
			}
			c.t.Fatalf("waiting for %q, connection closed: %v", typ, err)
		case <-deadline:
			c.t.Fatalf("no %q frame within 5s", typ)
		}
	}
}

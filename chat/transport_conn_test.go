package chat

import (
	"encoding/json"
	"runtime"
	"sync"
	"testing"
	"time"
)

// memConn is an in-memory Conn, as the sfu would adapt a data channel.
type memConn struct {
	frames chan map[string]any
	block  chan struct{} // when non-nil, Send blocks until Close
	mu     sync.Mutex
	closed bool
	closes int
}

func newMemConn() *memConn { return &memConn{frames: make(chan map[string]any, 1000)} }

func (c *memConn) Send(frame []byte) error {
	if c.block != nil {
		<-c.block
		return errClosedConn
	}
	var m map[string]any
	if err := json.Unmarshal(frame, &m); err != nil {
		panic("hub sent invalid JSON: " + string(frame))
	}
	c.frames <- m
	return nil
}

func (c *memConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	if !c.closed && c.block != nil {
		close(c.block)
	}
	c.closed = true
	return nil
}

func (c *memConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

var errClosedConn = &protocolError{code: "closed", msg: "conn closed"}

func (c *memConn) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.frames:
			if m["type"] == typ {
				return m
			}
		case <-deadline:
			t.Fatalf("conn: no %q frame within 5s", typ)
		}
	}
}

// TestAttachDataChannelChatsWithWebSocket: a Conn-attached client (the
// WebRTC data-channel path) and a WebSocket client talk to each other.
func TestAttachDataChannelChatsWithWebSocket(t *testing.T) {
	n := newNode(t, testConfig(), nil)
	ws := dial(t, n, "g1")
	ws.join("Web")

	dc := newMemConn()
	p, err := n.hub.Attach("g1", "10.0.0.7", dc)
	if err != nil {
		t.Fatal(err)
	}
	p.Receive([]byte(`{"type":"join","name":"Peer"}`))
	if j := dc.next(t, "joined"); j["user"] != p.UserID() {
		t.Fatalf("joined %v", j)
	}
	dc.next(t, "history")
	p.Receive([]byte(`{"type":"message","text":"hello from the data channel"}`))
	if m := ws.skipTo("message"); m["text"] != "hello from the data channel" || m["name"] != "Peer" {
		t.Fatalf("ws got %v", m)
	}
	ws.say("hello back")
	for {
		if m := dc.next(t, "message"); m["text"] == "hello back" {
			break
		}
	}
	p.Receive([]byte(`{oops`))
	if e := dc.next(t, "error"); e["code"] != codeBadRequest {
		t.Fatalf("bad JSON: %v", e)
	}
	// Data-channel chat is counted by its media session, not here.
	if lv := n.hub.LocalViewers("g1"); lv["chat"] != 1 {
		t.Fatalf("LocalViewers = %v", lv)
	}
	p.Receive(make([]byte, 5000))
	if e := dc.next(t, "error"); e["code"] != codeTooLarge {
		t.Fatalf("oversized: %v", e)
	}
	waitFor(t, 2*time.Second, "conn closed", dc.isClosed)
	p.Close()
	p.Close()
	ws.say("still fine")
	ws.skipTo("message")
}

// TestAttachBlockedConnIsEvicted: a Conn whose Send never returns is closed
// once its queue is full, and the room keeps going.
func TestAttachBlockedConnIsEvicted(t *testing.T) {
	cfg := testConfig()
	cfg.SendQueue = 4
	cfg.RateBurst = 1000
	n := newNode(t, cfg, nil)
	stuck := newMemConn()
	stuck.block = make(chan struct{})
	p, err := n.hub.Attach("g1", "10.0.0.8", stuck)
	if err != nil {
		t.Fatal(err)
	}
	p.Receive([]byte(`{"type":"join","name":"Stuck"}`))
	ws := dial(t, n, "g1")
	ws.join("Web")
	for i := range 20 {
		ws.say("x")
		_ = i
		ws.skipTo("message")
	}
	waitFor(t, 2*time.Second, "stuck conn closed", stuck.isClosed)
	if n.log.count("too slow") != 1 {
		t.Fatalf("eviction not logged once: %d", n.log.count("too slow"))
	}
}

func TestAttachPerIPCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnsPerIP = 1
	n := newNode(t, cfg, nil)
	if _, err := n.hub.Attach("g1", "10.0.0.9", newMemConn()); err != nil {
		t.Fatal(err)
	}
	second := newMemConn()
	if _, err := n.hub.Attach("g1", "10.0.0.9", second); err == nil {
		t.Fatal("second attach from the same address accepted")
	}
	if e := second.next(t, "error"); e["code"] != codeTooManyConns || !second.isClosed() {
		t.Fatalf("refused conn got %v, closed=%v", e, second.isClosed())
	}
	if _, err := n.hub.Attach("g1", "10.0.0.10", newMemConn()); err != nil {
		t.Fatalf("other address refused: %v", err)
	}
}

// TestHubCloseLeavesNoGoroutines checks every goroutine of a Hub (loops,
// writers) and of a RedisBroker exits on Close.
func TestHubCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg, media := withMedia(testConfig())
	h, err := New(cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var conns []*memConn
	for i := range 10 {
		c := newMemConn()
		p, err := h.Attach("g1", "10.0.1."+string(rune('0'+i)), c)
		if err != nil {
			t.Fatal(err)
		}
		p.Receive([]byte(`{"type":"join","name":"P"}`))
		p.Receive([]byte(`{"type":"message","text":"hi"}`))
		conns = append(conns, c)
	}
	release := media.add("g1", "webrtc")
	_ = h.Close()
	release()
	for _, c := range conns {
		if !c.isClosed() {
			t.Fatal("Close left a conn open")
		}
		var sawRestart bool
		for len(c.frames) > 0 {
			if (<-c.frames)["type"] == "restarting" {
				sawRestart = true
			}
		}
		if !sawRestart {
			t.Fatal("conn not told restarting")
		}
	}
	waitFor(t, 2*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

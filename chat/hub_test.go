package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestJoinHistoryAndLiveMessages(t *testing.T) {
	cfg := testConfig()
	cfg.RateBurst = 1000
	n := newNode(t, cfg, nil)
	a := dial(t, n, "g1")
	if h := a.join("Ann"); len(h) != 0 {
		t.Fatalf("fresh gig has history %v", h)
	}
	for i := range 105 {
		a.say(fmt.Sprintf("m%d", i))
	}
	for i := range 105 {
		if m := a.next("message"); m["text"] != fmt.Sprintf("m%d", i) || m["user"] != a.user || m["name"] != "Ann" {
			t.Fatalf("echo %d = %v", i, m)
		}
	}
	b := dial(t, n, "g1")
	h := texts(b.join("Bob"))
	if len(h) != 100 || h[0] != "m5" || h[99] != "m104" {
		t.Fatalf("history on join: %d messages %v...%v, want m5..m104", len(h), h[0], h[len(h)-1])
	}
	b.say("<script>alert(1)</script>")
	for _, c := range []*wsClient{a, b} {
		m := c.next("message")
		if m["text"] != "<script>alert(1)</script>" || m["name"] != "Bob" || m["id"] == "" || m["ts"] == nil {
			t.Fatalf("got %v", m)
		}
	}
	// Another gig is another room.
	other := dial(t, n, "g2")
	if h := other.join("Cy"); len(h) != 0 {
		t.Fatalf("g2 sees g1 history: %v", h)
	}
	a.say("only g1")
	a.next("message")
	other.quiet("message", 200*time.Millisecond)
}

func TestProtocolErrors(t *testing.T) {
	n := newNode(t, testConfig(), nil)
	c := dial(t, n, "g1")
	for _, tc := range []struct {
		send string
		code string
	}{
		{`{"type":"message","text":"hi"}`, codeNotJoined},
		{`{"type":"ban","user":"u_1"}`, codeNotJoined},
		{`not json`, codeBadRequest},
		{`{"type":"join","name":""}`, codeInvalidName},
		{`{"type":"join","name":"` + strings.Repeat("n", 33) + `"}`, codeInvalidName},
		{`{"type":"join","name":"A","token":"x"}`, codeUnavailable}, // no Authorize configured
	} {
		c.send(tc.send)
		if e := c.next("error"); e["code"] != tc.code {
			t.Fatalf("%s: error %v, want %s", tc.send, e, tc.code)
		}
	}
	c.join("Ann")
	for _, tc := range []struct {
		send string
		code string
	}{
		{`{"type":"join","name":"Again"}`, codeAlreadyJoined},
		{`{"type":"message","text":"   "}`, codeInvalidText},
		{`{"type":"message","text":"` + strings.Repeat("x", 501) + `"}`, codeInvalidText},
		{`{"type":"delete","id":"abc"}`, codeForbidden},
		{`{"type":"slow","seconds":5}`, codeForbidden},
	} {
		c.send(tc.send)
		if e := c.next("error"); e["code"] != tc.code {
			t.Fatalf("%s: error %v, want %s", tc.send, e, tc.code)
		}
	}
	c.say("still here")
	c.next("message")
}

func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.RateTimeout = 500 * time.Millisecond
	n := newNode(t, cfg, nil)
	c := dial(t, n, "g1")
	c.join("Ann")
	for i := range 3 {
		c.say(fmt.Sprint(i))
		c.next("message")
	}
	c.say("too many")
	e := c.next("error")
	if e["code"] != codeRateLimited || e["retry_after_ms"].(float64) != 500 {
		t.Fatalf("4th message: %v", e)
	}
	c.say("still blocked")
	if e := c.next("error"); e["code"] != codeRateLimited || e["retry_after_ms"].(float64) > 500 {
		t.Fatalf("during timeout: %v", e)
	}
	time.Sleep(550 * time.Millisecond)
	c.say("after timeout")
	if m := c.next("message"); m["text"] != "after timeout" {
		t.Fatalf("after timeout: %v", m)
	}
}

func TestOversizedFrameClosesConnection(t *testing.T) {
	n := newNode(t, testConfig(), nil)
	c := dial(t, n, "g1")
	c.join("Ann")
	c.send(`{"type":"message","text":"` + strings.Repeat("x", 5000) + `"}`)
	if e := c.next("error"); e["code"] != codeTooLarge {
		t.Fatalf("got %v", e)
	}
	if code := c.expectClosed(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	// The room goes on for others.
	d := dial(t, n, "g1")
	d.join("Dee")
	d.say("fine")
	d.next("message")
}

func TestPerIPConnectionCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnsPerIP = 2
	n := newNode(t, cfg, nil)
	a, b := dial(t, n, "g1"), dial(t, n, "g2")
	a.join("A")
	b.join("B")
	c := dial(t, n, "g1")
	if e := c.next("error"); e["code"] != codeTooManyConns {
		t.Fatalf("third connection got %v", e)
	}
	c.expectClosed()
	_ = a.conn.Close()
	waitFor(t, 2*time.Second, "slot freed", func() bool {
		n.hub.mu.Lock()
		defer n.hub.mu.Unlock()
		return n.hub.perIP["127.0.0.1"] == 1
	})
	d := dial(t, n, "g1")
	d.join("D")
}

// TestSlowClientEvicted: a WebSocket client that never reads is
// disconnected while the others keep receiving everything.
func TestSlowClientEvicted(t *testing.T) {
	cfg := testConfig()
	cfg.RateBurst = 1 << 20
	cfg.SendQueue = 16
	cfg.WriteTimeout = time.Second
	// The fast client waits for each of its messages, so with the default
	// coalescing window each round trip would take a window.
	cfg.Coalesce = time.Millisecond
	n := newNode(t, cfg, nil)

	// The slow client joins, then stops reading; tiny socket buffers make
	// the server's writes back up quickly.
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		conn, err := net.Dial(network, addr)
		if err == nil {
			_ = conn.(*net.TCPConn).SetReadBuffer(2048)
		}
		return conn, err
	}}
	slow, _, err := dialer.Dial(n.wsURL("g1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_ = slow.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","name":"Slow"}`))
	for { // read up to history, then never again
		_, data, err := slow.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"history"`) {
			break
		}
	}
	fast := dial(t, n, "g1")
	fast.join("Fast")
	text := strings.Repeat("é", 500)
	sent := 0
	evicted := func() bool { return n.log.count("too slow") > 0 }
	for !evicted() && sent < 20000 {
		fast.say(text)
		fast.next("message") // the fast client keeps up with the room
		sent++
	}
	if !evicted() {
		t.Fatalf("slow client not evicted after %d messages", sent)
	}
	t.Logf("slow client evicted after %d messages of %d bytes", sent, len(text))
	fast.say("after eviction")
	if m := fast.next("message"); m["text"] != "after eviction" {
		t.Fatalf("fast client got %v", m)
	}
	waitFor(t, 3*time.Second, "slow client to leave the room", func() bool {
		return n.hub.roomOf("g1").members.Len() == 1
	})
}

func TestModerationSingleNode(t *testing.T) {
	cfg := testConfig()
	cfg.Authorize = func(ctx context.Context, gig, token string) error {
		if gig == "g1" && token == "manage-secret" {
			return nil
		}
		return errors.New("bad token")
	}
	n := newNode(t, cfg, nil)
	bad := dial(t, n, "g1")
	bad.send(`{"type":"join","name":"Eve","token":"guess"}`)
	if e := bad.next("error"); e["code"] != codeUnauthorized || strings.Contains(fmt.Sprint(e), "guess") {
		t.Fatalf("wrong token: %v", e)
	}
	mod := dial(t, n, "g1")
	mod.join("Creator", "token", "manage-secret")
	viewer := dial(t, n, "g1")
	viewer.join("Vic")

	viewer.say("spam")
	id := viewer.next("message")["id"].(string)
	mod.next("message")
	mod.send(map[string]any{"type": "delete", "id": id})
	for _, c := range []*wsClient{mod, viewer} {
		if d := c.next("deleted"); d["id"] != id {
			t.Fatalf("deleted = %v", d)
		}
	}
	late := dial(t, n, "g1")
	waitFor(t, 2*time.Second, "history delete", func() bool {
		h, _ := n.hub.broker.History(context.Background(), "g1", 100)
		return len(h) == 0
	})
	if h := late.join("Late"); len(h) != 0 {
		t.Fatalf("deleted message still in history: %v", h)
	}

	mod.send(map[string]any{"type": "mute", "user": viewer.user, "seconds": 60})
	if m := viewer.next("moderation"); m["action"] != "mute" || m["user"] != viewer.user {
		t.Fatalf("moderation frame %v", m)
	}
	viewer.say("muted?")
	if e := viewer.next("error"); e["code"] != codeMuted || e["retry_after_ms"].(float64) < 59000 {
		t.Fatalf("muted send: %v", e)
	}
	mod.send(map[string]any{"type": "mute", "user": viewer.user, "seconds": 0})
	viewer.next("moderation")
	viewer.say("unmuted")
	viewer.next("message")

	sam := dial(t, n, "g1")
	sam.join("Sam")
	mod.send(map[string]any{"type": "slow", "seconds": 30})
	sam.next("moderation")
	sam.say("one")
	sam.next("message")
	sam.say("two")
	if e := sam.next("error"); e["code"] != codeSlowMode || e["retry_after_ms"].(float64) < 29000 {
		t.Fatalf("slow mode: %v", e)
	}
	mod.say("creator is exempt")
	mod.say("from slow mode")

	mod.send(map[string]any{"type": "ban", "user": viewer.user})
	if e := viewer.skipTo("error"); e["code"] != codeBanned {
		t.Fatalf("banned user got %v", e)
	}
	if code := viewer.expectClosed(); code != websocket.ClosePolicyViolation {
		t.Fatalf("ban close code %d", code)
	}
	// Same address, new connection: refused at join.
	again := dial(t, n, "g1")
	again.send(`{"type":"join","name":"Vic2"}`)
	if e := again.next("error"); e["code"] != codeBanned {
		t.Fatalf("rejoin after ban: %v", e)
	}
	again.expectClosed()
}

func TestViewersAcrossProtocols(t *testing.T) {
	cfg, media := withMedia(testConfig())
	n := newNode(t, cfg, nil)
	a := dial(t, n, "g1")
	a.join("Ann")
	a.waitPresence(1)
	release := media.add("g1", "webrtc")
	flv := media.add("g1", "flv")
	a.waitPresence(3)
	w := dial(t, n, "g1")
	w.send(`{"type":"join","name":"Web","watching":true}`) // already counted as webrtc
	w.next("joined")
	a.quiet("presence", 200*time.Millisecond)
	if v := n.hub.Viewers("g1"); v != 3 {
		t.Fatalf("Viewers = %d, want 3", v)
	}
	if lv := n.hub.LocalViewers("g1"); lv["chat"] != 1 || lv["webrtc"] != 1 || lv["flv"] != 1 {
		t.Fatalf("LocalViewers = %v", lv)
	}
	release()
	release()
	flv()
	a.waitPresence(1)
	_ = a.conn.Close()
	waitFor(t, 2*time.Second, "zero viewers", func() bool { return n.hub.Viewers("g1") == 0 })
}

func TestCloseSendsRestarting(t *testing.T) {
	n := newNode(t, testConfig(), nil)
	a := dial(t, n, "g1")
	a.join("Ann")
	idle := dial(t, n, "g2") // connected, never joined
	waitFor(t, 2*time.Second, "both admitted", func() bool {
		n.hub.mu.Lock()
		defer n.hub.mu.Unlock()
		return len(n.hub.clients) == 2
	})
	done := make(chan struct{})
	go func() { _ = n.hub.Close(); close(done) }()
	for _, c := range []*wsClient{a, idle} {
		c.next("restarting")
		if code := c.expectClosed(); code != websocket.CloseServiceRestart {
			t.Fatalf("close code %d, want 1012", code)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	_ = n.hub.Close() // idempotent
	if _, _, err := websocket.DefaultDialer.Dial(n.wsURL("g1"), nil); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{RateBurst: -1},
		{HeartbeatInterval: time.Minute, PresenceTTL: 30 * time.Second},
		{MaxFrameBytes: 10},
	} {
		if _, err := New(cfg, nil, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("New(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

// A viewer whose socket fills (it reads slowly) still gets every message
// once and in order: what the socket does not take at once is queued, and
// later messages wait behind it.
func TestSlowReaderGetsEverythingInOrder(t *testing.T) {
	cfg := testConfig()
	cfg.RateBurst = 1 << 20
	cfg.Coalesce = time.Millisecond
	n := newNode(t, cfg, nil)
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		conn, err := net.Dial(network, addr)
		if err == nil {
			_ = conn.(*net.TCPConn).SetReadBuffer(4096)
		}
		return conn, err
	}}
	conn, _, err := dialer.Dial(n.wsURL("g1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","name":"Slow"}`))
	sender := dial(t, n, "g1")
	sender.join("Fast")
	const total = 300
	pad := strings.Repeat("x", 400)
	go func() {
		for i := range total {
			sender.send(map[string]any{"type": "message", "text": fmt.Sprintf("%d %s", i, pad)})
		}
	}()
	want := 0
	for want < total {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d messages: %v", want, err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("bad frame %q", data)
		}
		if m["type"] != "message" {
			continue
		}
		var got int
		if _, err := fmt.Sscanf(m["text"].(string), "%d ", &got); err != nil || got != want {
			t.Fatalf("message %v, want number %d", m["text"], want)
		}
		want++
		if want%50 == 0 {
			time.Sleep(100 * time.Millisecond) // let the server's writes back up
		}
	}
}

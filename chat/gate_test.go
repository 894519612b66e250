package chat

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bookmygig/bookmygig/access"
	"github.com/gorilla/websocket"
)

// testGate is a small access.Gate: gigs in ticketed need a ticket (or the
// gig's manage token), every other gig is open. It records each pass it
// hands out and how often that pass was released.
type testGate struct {
	mu       sync.Mutex
	ticketed map[string]bool
	manage   map[string]string // gig -> manage token
	tickets  map[string]*stubTicket
	passes   []*stubPass
	asked    int
	err      error // when set, Admit fails with it, as a store outage would
}

type stubTicket struct {
	id, gig, holder string
	revoked         bool
}

type stubPass struct {
	ticketID string
	pass     *access.Pass
	released int
}

var _ access.Gate = (*testGate)(nil)

func newTestGate() *testGate {
	return &testGate{ticketed: map[string]bool{}, manage: map[string]string{}, tickets: map[string]*stubTicket{}}
}

// issue adds a ticket and returns its token.
func (g *testGate) issue(gig, id, holder string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ticketed[gig] = true
	tok := "tk_" + randomHex(16)
	g.tickets[tok] = &stubTicket{id: id, gig: gig, holder: holder}
	return tok
}

func (g *testGate) Admit(_ context.Context, req access.Request) (*access.Pass, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked++
	if req.Kind != access.Chat {
		return nil, errors.New("chat asked for a non-chat admission")
	}
	if g.err != nil {
		return nil, g.err
	}
	if req.Credential != "" && req.Credential == g.manage[req.GigID] {
		return g.record("", "", true), nil
	}
	if !g.ticketed[req.GigID] {
		return g.record("", "", false), nil
	}
	if req.Credential == "" {
		return nil, access.ErrTicketRequired
	}
	tk := g.tickets[req.Credential]
	switch {
	case tk == nil || tk.gig != req.GigID:
		return nil, access.ErrInvalidTicket
	case tk.revoked:
		return nil, access.ErrTicketRevoked
	}
	return g.record(tk.id, tk.holder, false), nil
}

// record hands out a pass; g.mu is held.
func (g *testGate) record(ticketID, holder string, creator bool) *access.Pass {
	sp := &stubPass{ticketID: ticketID}
	sp.pass = access.NewPass(ticketID, holder, creator, "", func() {
		g.mu.Lock()
		sp.released++
		g.mu.Unlock()
	})
	g.passes = append(g.passes, sp)
	return sp.pass
}

// revoke ends every pass of the ticket, as the real gate does on every node.
func (g *testGate) revoke(tok string) {
	g.mu.Lock()
	tk := g.tickets[tok]
	tk.revoked = true
	var ending []*access.Pass
	for _, sp := range g.passes {
		if sp.ticketID == tk.id {
			ending = append(ending, sp.pass)
		}
	}
	g.mu.Unlock()
	for _, p := range ending {
		p.End(access.ErrTicketRevoked)
	}
}

// releases returns how often each pass of the ticket was released, in
// admission order.
func (g *testGate) releases(ticketID string) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []int
	for _, sp := range g.passes {
		if sp.ticketID == ticketID {
			out = append(out, sp.released)
		}
	}
	return out
}

func (g *testGate) allReleased() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, sp := range g.passes {
		if sp.released != 1 {
			return false
		}
	}
	return true
}

func (g *testGate) askedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked
}

func (g *testGate) fail(err error) {
	g.mu.Lock()
	g.err = err
	g.mu.Unlock()
}

const testManage = "mt_manage-g1"

// ticketConfig is a test hub config with g as its gate, the creator of g1
// authorized by testManage, and client addresses taken from
// X-Forwarded-For so tests can come from several addresses.
func ticketConfig(g *testGate) Config {
	cfg := testConfig()
	cfg.Gate = g
	cfg.ClientIP = forwardedIP
	cfg.Authorize = func(_ context.Context, gig, token string) error {
		if gig == "g1" && token == testManage {
			return nil
		}
		return errors.New("bad token")
	}
	g.mu.Lock()
	g.manage["g1"] = testManage
	g.mu.Unlock()
	return cfg
}

func dialFrom(t testing.TB, n *node, gig, ip string) *wsClient {
	t.Helper()
	return dialHeader(t, n, gig, http.Header{"X-Forwarded-For": {ip}})
}

// refused checks the error frame and close code of a refused join.
func (c *wsClient) refused(code, msg string, closeCode int) {
	c.t.Helper()
	e := c.next("error")
	if e["code"] != code || (msg != "" && e["message"] != msg) {
		c.t.Fatalf("error %v, want code %q message %q", e, code, msg)
	}
	if got := c.expectClosed(); got != closeCode {
		c.t.Fatalf("close code %d, want %d", got, closeCode)
	}
}

func TestTicketJoinRefused(t *testing.T) {
	g := newTestGate()
	good := g.issue("g1", "tkt-ann", "Ann")
	other := g.issue("g2", "tkt-bob", "Bob")
	revoked := g.issue("g1", "tkt-eve", "Eve")
	g.revoke(revoked)
	n := newNode(t, ticketConfig(g), nil)
	long := "tk_" + strings.Repeat("a", maxCredentialLen)
	for _, tc := range []struct {
		name   string
		join   string
		err    error
		asksGe bool
	}{
		{"no ticket", `{"type":"join","name":"Eve"}`, access.ErrTicketRequired, true},
		{"forged ticket", `{"type":"join","name":"Eve","ticket":"tk_forged"}`, access.ErrInvalidTicket, true},
		{"another gig's ticket", `{"type":"join","name":"Eve","ticket":"` + other + `"}`, access.ErrInvalidTicket, true},
		{"revoked ticket", `{"type":"join","ticket":"` + revoked + `"}`, access.ErrTicketRevoked, true},
		{"overlong ticket", `{"type":"join","name":"Eve","ticket":"` + long + `"}`, access.ErrInvalidTicket, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := g.askedCount()
			c := dial(t, n, "g1")
			c.send(tc.join)
			c.refused(access.Code(tc.err), access.Message("g1", tc.err), closeTicket)
			if got := g.askedCount() - asked; (got == 1) != tc.asksGe {
				t.Fatalf("gate asked %d times", got)
			}
		})
	}
	for code, err := range map[string]error{codeTicketRequired: access.ErrTicketRequired, codeInvalidTicket: access.ErrInvalidTicket, codeTicketRevoked: access.ErrTicketRevoked} {
		if access.Code(err) != code {
			t.Fatalf("chat documents %q, access.Code says %q", code, access.Code(err))
		}
	}

	// A store outage behind the gate: "unavailable", try again later.
	g.fail(errors.New("redis: connection refused"))
	c := dial(t, n, "g1")
	c.send(map[string]any{"type": "join", "name": "Ann", "ticket": good})
	c.refused(codeUnavailable, "", websocket.CloseTryAgainLater)
	if ctr := n.hub.Counters(); ctr.TicketRefused != 5 || ctr.GateFailed != 1 {
		t.Fatalf("counters %+v, want 5 refused and 1 gate failure", ctr)
	}
	g.fail(nil)
	ok := dial(t, n, "g1")
	ok.join("", "ticket", good)
}

func TestTicketIdentity(t *testing.T) {
	g := newTestGate()
	long := strings.Repeat("ü", 40) + "\u202e\u0007"
	ann := g.issue("g1", "tkt-ann", "Ann Holder")
	lng := g.issue("g1", "tkt-long", long)
	n := newNode(t, ticketConfig(g), nil)

	phone := dialFrom(t, n, "g1", "10.0.0.1")
	phone.send(map[string]any{"type": "join", "name": "Mallory", "ticket": ann})
	j := phone.next("joined")
	phone.user = j["user"].(string)
	phone.next("history")
	if j["name"] != "Ann Holder" || j["creator"] != false || phone.user != TicketUserID("tkt-ann") {
		t.Fatalf("joined %v, want the holder's name and user %s", j, TicketUserID("tkt-ann"))
	}
	if !strings.HasPrefix(phone.user, "t_") || len(phone.user) != 14 || strings.Contains(phone.user, "ann") || strings.Contains(ann, phone.user[2:]) {
		t.Fatalf("user id %q must be t_ and 12 hex, not derived visibly from the ticket", phone.user)
	}
	// Another device of the same ticket, elsewhere, with no name at all:
	// the same identity, and both stay in the chat.
	laptop := dialFrom(t, n, "g1", "192.0.2.44")
	laptop.join("", "ticket", ann)
	if laptop.user != phone.user {
		t.Fatalf("second connection is %s, first %s", laptop.user, phone.user)
	}
	phone.say("from the phone")
	for _, c := range []*wsClient{phone, laptop} {
		if m := c.next("message"); m["user"] != phone.user || m["name"] != "Ann Holder" || m["text"] != "from the phone" {
			t.Fatalf("message %v", m)
		}
	}

	// Names on tickets may be longer than chat names: cut, and cleaned.
	l := dial(t, n, "g1")
	l.send(map[string]any{"type": "join", "name": "x", "ticket": lng})
	if j := l.next("joined"); j["name"] != strings.Repeat("ü", 32) {
		t.Fatalf("long holder name became %q (%d runes)", j["name"], utf8.RuneCountInString(j["name"].(string)))
	}

	// The creator: by "token" (Authorize), or the manage token as the
	// ticket (the gate admits it as the creator).
	for _, field := range []string{"token", "ticket"} {
		c := dial(t, n, "g1")
		c.send(map[string]any{"type": "join", "name": "Creator", field: testManage})
		if j := c.next("joined"); j["creator"] != true || j["name"] != "Creator" || !strings.HasPrefix(j["user"].(string), "u_") {
			t.Fatalf("creator by %s: %v", field, j)
		}
	}
	// A wrong manage token is refused as before, and the connection stays.
	c := dial(t, n, "g1")
	c.send(map[string]any{"type": "join", "name": "Creator", "token": "mt_guess"})
	if e := c.next("error"); e["code"] != codeUnauthorized {
		t.Fatalf("wrong token: %v", e)
	}
	c.join("", "ticket", ann)
}

// TestTicketCreatorThroughGate: without Authorize, the gate recognizes the
// manage token sent as "token".
func TestTicketCreatorThroughGate(t *testing.T) {
	g := newTestGate()
	g.issue("g1", "tkt-ann", "Ann")
	cfg := ticketConfig(g)
	cfg.Authorize = nil
	n := newNode(t, cfg, nil)
	c := dial(t, n, "g1")
	c.send(map[string]any{"type": "join", "name": "Boss", "token": testManage})
	if j := c.next("joined"); j["creator"] != true {
		t.Fatalf("joined %v", j)
	}
	for _, gig := range []string{"g1", "open"} {
		bad := dial(t, n, gig)
		bad.send(map[string]any{"type": "join", "name": "Boss", "token": "mt_guess"})
		if e := bad.next("error"); e["code"] != codeUnauthorized {
			t.Fatalf("wrong token on %s: %v", gig, e)
		}
	}
	// The open gig's gate admitted the wrong token as anyone; not a
	// creator, so refused, and its pass released at once.
	if r := g.releases(""); len(r) != 2 || r[0] != 0 || r[1] != 1 {
		t.Fatalf("releases of the creator's and the open passes: %v", r)
	}
}

func TestTicketMuteHoldsAcrossReconnect(t *testing.T) {
	g := newTestGate()
	ann := g.issue("g1", "tkt-ann", "Ann")
	bob := g.issue("g1", "tkt-bob", "Bob")
	n := newNode(t, ticketConfig(g), nil)
	mod := dial(t, n, "g1")
	mod.join("Creator", "token", testManage)
	a := dialFrom(t, n, "g1", "10.0.0.1")
	a.join("", "ticket", ann)
	b := dialFrom(t, n, "g1", "10.0.0.1") // same address, another ticket
	b.join("", "ticket", bob)

	mod.send(map[string]any{"type": "mute", "user": a.user, "seconds": 60})
	if m := a.next("moderation"); m["action"] != "mute" || m["user"] != a.user {
		t.Fatalf("moderation %v", m)
	}
	_ = a.conn.Close()
	for _, ip := range []string{"10.0.0.1", "198.51.100.7"} {
		again := dialFrom(t, n, "g1", ip)
		again.join("", "ticket", ann)
		if again.user != a.user {
			t.Fatalf("reconnect from %s is %s, was %s", ip, again.user, a.user)
		}
		again.say("am I muted?")
		if e := again.next("error"); e["code"] != codeMuted || e["retry_after_ms"].(float64) < 50000 {
			t.Fatalf("muted ticket reconnecting from %s: %v", ip, e)
		}
		_ = again.conn.Close()
	}
	b.say("not muted")
	if m := b.skipTo("message"); m["user"] != b.user {
		t.Fatalf("other ticket: %v", m)
	}
}

// TestTicketBanIsPerTicket: a banned ticket cannot rejoin from any address
// or node; other tickets behind the same address still can.
func TestTicketBanIsPerTicket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCluster func(cfgA, cfgB Config) *cluster) {
		g := newTestGate()
		ann := g.issue("g1", "tkt-ann", "Ann")
		bob := g.issue("g1", "tkt-bob", "Bob")
		cy := g.issue("g1", "tkt-cy", "Cy")
		cl := newCluster(ticketConfig(g), ticketConfig(g))
		mod := dial(t, cl.a, "g1")
		mod.join("Creator", "token", testManage)
		a := dialFrom(t, cl.a, "g1", "10.0.0.1")
		a.join("", "ticket", ann)
		aB := dialFrom(t, cl.b, "g1", "10.0.0.2") // the same ticket on the other node
		aB.join("", "ticket", ann)
		b := dialFrom(t, cl.b, "g1", "10.0.0.1")
		b.join("", "ticket", bob)

		mod.send(map[string]any{"type": "ban", "user": a.user})
		for _, c := range []*wsClient{a, aB} {
			if e := c.skipTo("error"); e["code"] != codeBanned {
				t.Fatalf("banned ticket got %v", e)
			}
			if code := c.expectClosed(); code != websocket.ClosePolicyViolation {
				t.Fatalf("ban close code %d", code)
			}
		}
		// Stored by ticket only: no address ban (it is queued before the
		// ticket's ban, so it would be stored by now).
		var stored []Restriction
		waitFor(t, 3*time.Second, "the ban stored", func() bool {
			stored, _ = cl.a.hub.broker.Restrictions(context.Background(), "g1")
			return len(stored) > 0
		})
		for _, x := range stored {
			if x.Kind != RestrictBan || x.Target != a.user {
				t.Fatalf("stored restriction %+v, want only the ban of %s", x, a.user)
			}
		}
		for _, nd := range []*node{cl.a, cl.b} {
			waitFor(t, 3*time.Second, "the ban on "+nd.hub.NodeID(), func() bool {
				r := nd.hub.roomOf("g1")
				return r != nil && r.banned(a.user)
			})
			for _, ip := range []string{"10.0.0.1", "203.0.113.9"} {
				again := dialFrom(t, nd, "g1", ip)
				again.send(map[string]any{"type": "join", "name": "Ann", "ticket": ann})
				if e := again.next("error"); e["code"] != codeBanned {
					t.Fatalf("banned ticket rejoining %s from %s: %v", nd.hub.NodeID(), ip, e)
				}
				again.expectClosed()
			}
			// Others behind the banned ticket's address are not affected.
			for _, tok := range []string{bob, cy} {
				c := dialFrom(t, nd, "g1", "10.0.0.1")
				c.join("", "ticket", tok)
				_ = c.conn.Close()
			}
		}
		b.say("still here")
		if m := b.skipTo("message"); m["text"] != "still here" {
			t.Fatalf("other ticket on the banned address: %v", m)
		}
		_ = b.conn.Close()
		waitFor(t, 3*time.Second, "every pass released once", g.allReleased)
	})
}

// TestOpenGigWithGate: a gig the gate leaves open chats as before:
// the client's name, a per-connection id, and bans by address.
func TestOpenGigWithGate(t *testing.T) {
	g := newTestGate()
	g.issue("g1", "tkt-ann", "Ann")
	n := newNode(t, ticketConfig(g), nil)
	v := dialFrom(t, n, "open", "10.0.0.5")
	v.join("Vic")
	if !strings.HasPrefix(v.user, "u_") {
		t.Fatalf("open gig user id %q", v.user)
	}
	v2 := dialFrom(t, n, "open", "10.0.0.5")
	v2.join("Vic")
	if v2.user == v.user {
		t.Fatal("anonymous connections share an id")
	}
	// The creator moderates through the Hub here (the API's path).
	if err := n.hub.Ban("open", v.user); err != nil {
		t.Fatal(err)
	}
	v.skipTo("error")
	again := dialFrom(t, n, "open", "10.0.0.5")
	again.send(`{"type":"join","name":"Vic3"}`)
	if e := again.next("error"); e["code"] != codeBanned {
		t.Fatalf("open gig ban by address: %v", e)
	}
	other := dialFrom(t, n, "open", "10.0.0.6")
	other.join("Other")
}

// TestTicketRevokeClosesChat: revoking ends every chat connection of the
// ticket (WebSocket and data channel) within 2 s, releases each pass once,
// and the ticket cannot come back.
func TestTicketRevokeClosesChat(t *testing.T) {
	g := newTestGate()
	ann := g.issue("g1", "tkt-ann", "Ann")
	bob := g.issue("g1", "tkt-bob", "Bob")
	n := newNode(t, ticketConfig(g), nil)
	ws := dial(t, n, "g1")
	ws.join("", "ticket", ann)
	dc := newMemConn()
	p, err := n.hub.Attach("g1", "10.0.0.7", dc)
	if err != nil {
		t.Fatal(err)
	}
	p.Receive([]byte(`{"type":"join","ticket":"` + ann + `"}`))
	dc.next(t, "joined")
	other := dial(t, n, "g1")
	other.join("", "ticket", bob)

	start := time.Now()
	g.revoke(ann)
	e := ws.skipTo("error")
	if e["code"] != codeTicketRevoked || e["message"] != access.Message("g1", access.ErrTicketRevoked) {
		t.Fatalf("revoked ticket got %v", e)
	}
	if code := ws.expectClosed(); code != closeTicket {
		t.Fatalf("close code %d, want %d", code, closeTicket)
	}
	if e := dc.next(t, "error"); e["code"] != codeTicketRevoked {
		t.Fatalf("data channel got %v", e)
	}
	waitFor(t, 2*time.Second, "data channel closed", dc.isClosed)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("revoked chat closed after %s", d)
	}
	waitFor(t, 2*time.Second, "passes released", func() bool {
		r := g.releases("tkt-ann")
		return len(r) == 2 && r[0] == 1 && r[1] == 1
	})
	p.Close() // the adapter's close after the hub's: still once
	time.Sleep(100 * time.Millisecond)
	if r := g.releases("tkt-ann"); r[0] != 1 || r[1] != 1 {
		t.Fatalf("releases %v, want each once", r)
	}
	again := dial(t, n, "g1")
	again.send(map[string]any{"type": "join", "name": "Ann", "ticket": ann})
	again.refused(codeTicketRevoked, access.Message("g1", access.ErrTicketRevoked), closeTicket)

	other.say("unaffected")
	if m := other.next("message"); m["text"] != "unaffected" {
		t.Fatalf("other ticket: %v", m)
	}
}

// TestTicketPassLifecycle: a pass is released once whichever way the
// client goes (it leaves, fails to join, the hub closes), and nothing
// outlives the hub.
func TestTicketPassLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	g := newTestGate()
	named := g.issue("g1", "tkt-named", "Ann")
	nameless := g.issue("g1", "tkt-nameless", "")
	revoked := g.issue("g1", "tkt-revoked", "Rev")
	h, err := New(ticketConfig(g), nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	attach := func(ip string) (*Peer, *memConn) {
		c := newMemConn()
		p, err := h.Attach("g1", ip, c)
		if err != nil {
			t.Fatal(err)
		}
		return p, c
	}

	// Leaves by itself.
	p1, c1 := attach("10.0.2.1")
	p1.Receive([]byte(`{"type":"join","ticket":"` + named + `"}`))
	if j := c1.next(t, "joined"); j["name"] != "Ann" || p1.UserID() != TicketUserID("tkt-named") {
		t.Fatalf("joined %v, UserID %s", j, p1.UserID())
	}
	p1.Close()
	waitFor(t, 2*time.Second, "release on leave", func() bool { return g.releases("tkt-named")[0] == 1 })

	// A ticket without a holder name needs the client's name: refused
	// without one (the pass released), joined with one.
	p2, c2 := attach("10.0.2.2")
	p2.Receive([]byte(`{"type":"join","ticket":"` + nameless + `"}`))
	if e := c2.next(t, "error"); e["code"] != codeInvalidName || c2.isClosed() {
		t.Fatalf("nameless join: %v (closed %v)", e, c2.isClosed())
	}
	if r := g.releases("tkt-nameless"); len(r) != 1 || r[0] != 1 {
		t.Fatalf("refused join's pass releases %v", r)
	}
	p2.Receive([]byte(`{"type":"join","name":"Nina","ticket":"` + nameless + `"}`))
	if j := c2.next(t, "joined"); j["name"] != "Nina" || j["user"] != TicketUserID("tkt-nameless") {
		t.Fatalf("joined %v", j)
	}

	// Revoked while connected, and connected when the hub closes.
	p3, c3 := attach("10.0.2.3")
	p3.Receive([]byte(`{"type":"join","ticket":"` + revoked + `"}`))
	c3.next(t, "joined")
	g.revoke(revoked)
	c3.next(t, "error")
	waitFor(t, 2*time.Second, "revoked conn closed", c3.isClosed)
	p4, c4 := attach("10.0.2.4")
	p4.Receive([]byte(`{"type":"join","ticket":"` + named + `"}`))
	c4.next(t, "joined")

	_ = h.Close()
	if !c2.isClosed() || !c4.isClosed() {
		t.Fatal("Close left a conn open")
	}
	if !g.allReleased() {
		g.mu.Lock()
		for _, sp := range g.passes {
			t.Logf("pass of %q released %d times", sp.ticketID, sp.released)
		}
		g.mu.Unlock()
		t.Fatal("a pass was not released exactly once")
	}
	p2.Close()
	p3.Close()
	waitFor(t, 2*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

// TestTicketAttachRefused: the data-channel path refuses like the WebSocket.
func TestTicketAttachRefused(t *testing.T) {
	g := newTestGate()
	g.issue("g1", "tkt-ann", "Ann")
	n := newNode(t, ticketConfig(g), nil)
	dc := newMemConn()
	p, err := n.hub.Attach("g1", "10.0.0.7", dc)
	if err != nil {
		t.Fatal(err)
	}
	p.Receive([]byte(`{"type":"join","name":"Eve"}`))
	e := dc.next(t, "error")
	if e["code"] != codeTicketRequired || e["message"] != access.Message("g1", access.ErrTicketRequired) {
		t.Fatalf("got %v", e)
	}
	waitFor(t, 2*time.Second, "conn closed", dc.isClosed)
}

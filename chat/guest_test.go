package chat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/redis/go-redis/v9"
)

var guestCases = []struct {
	name string
	tok  func(k serverKeys, good string) string
	ok   bool
}{
	{"valid", func(_ serverKeys, good string) string { return good }, true},
	{"empty", func(serverKeys, string) string { return "" }, false},
	{"no signature", func(_ serverKeys, good string) string { return good[:strings.LastIndexByte(good, '.')] }, false},
	{"signature changed", func(_ serverKeys, good string) string { return good[:len(good)-2] + "AA" }, false},
	{"id changed", func(_ serverKeys, good string) string {
		c := byte('0')
		if good[2] == '0' {
			c = '1'
		}
		return good[:2] + string(c) + good[3:]
	}, false},
	{"another key", func(serverKeys, string) string {
		_, tok := deriveKeys([]byte(strings.Repeat("k", 32))).mintGuest(time.Now())
		return tok
	}, false},
	{"expired", func(k serverKeys, _ string) string {
		_, tok := k.mintGuest(time.Now().Add(-31 * 24 * time.Hour))
		return tok
	}, false},
	{"from the future", func(k serverKeys, _ string) string {
		_, tok := k.mintGuest(time.Now().Add(time.Hour))
		return tok
	}, false},
	{"too long", func(_ serverKeys, good string) string { return good + strings.Repeat("x", 100) }, false},
	{"a ticket", func(serverKeys, string) string { return "tk_abc.def" }, false},
}

func TestGuestToken(t *testing.T) {
	k := deriveKeys(clusterKey)
	g, good := k.mintGuest(time.Now())
	for _, tc := range guestCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := k.verifyGuest(tc.tok(k, good), time.Now(), 30*24*time.Hour)
			if ok != tc.ok {
				t.Fatalf("verify = %v, want %v", ok, tc.ok)
			}
			if ok && got.id != g.id {
				t.Fatalf("id %q, want %q", got.id, g.id)
			}
		})
	}
	if GuestUserID(g.id) == GuestUserID("other") || !strings.HasPrefix(GuestUserID(g.id), "u_") {
		t.Fatalf("GuestUserID %q", GuestUserID(g.id))
	}
	if strings.Contains(good, GuestUserID(g.id)[2:]) {
		t.Fatal("the token shows the user id")
	}
	// Address keys are keyed: another server key gives another key.
	if k.addrKey("10.0.0.1") == deriveKeys([]byte(strings.Repeat("k", 32))).addrKey("10.0.0.1") {
		t.Fatal("address keys do not depend on the server key")
	}
}

func FuzzVerifyGuest(f *testing.F) {
	k := deriveKeys(clusterKey)
	_, good := k.mintGuest(time.Now())
	for _, tc := range guestCases {
		f.Add(tc.tok(k, good))
	}
	f.Fuzz(func(t *testing.T, tok string) {
		g, ok := k.verifyGuest(tok, time.Now(), time.Hour)
		if !ok {
			return
		}
		// Only what the server signed passes (seeds come from another
		// process's mint, so compare with a fresh signature, not good).
		dot := strings.LastIndexByte(tok, '.')
		if tok[dot+1:] != k.guestSig(tok[:dot]) || len(g.id) != guestIDHexLen || !strings.HasPrefix(tok, "g_"+g.id+".") {
			t.Fatalf("accepted %q", tok)
		}
	})
}

func TestSharedGuestKey(t *testing.T) {
	srv := redistest.Start(t)
	var keys [][]byte
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		k, err := SharedGuestKey(context.Background(), rdb)
		_ = rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys[0]) != guestKeyLen || string(keys[0]) != string(keys[1]) {
		t.Fatalf("nodes got different keys: %x %x", keys[0], keys[1])
	}
	if _, err := New(Config{GuestKey: []byte("short")}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("short GuestKey: %v", err)
	}
}

// rejoin dials from ip and joins with the guest token.
func rejoin(t *testing.T, n *node, gig, ip, name, guestTok string) (*wsClient, string) {
	t.Helper()
	c := dialFrom(t, n, gig, ip)
	c.send(map[string]any{"type": "join", "name": name, "guest": guestTok})
	j := c.next("joined")
	c.user = j["user"].(string)
	c.next("history")
	tok, _ := j["guest"].(string)
	return c, tok
}

func guestConfig() Config {
	cfg := testConfig()
	cfg.ClientIP = forwardedIP
	cfg.Authorize = func(_ context.Context, gig, token string) error {
		if token == testManage {
			return nil
		}
		return errors.New("bad token")
	}
	return cfg
}

// TestGuestIdentity: a join without a guest id gets one; coming back with
// it (from any address) is the same user, so mute and slow mode hold; a
// forged one is ignored and replaced.
func TestGuestIdentity(t *testing.T) {
	n := newNode(t, guestConfig(), nil)
	mod := dial(t, n, "g1")
	mod.join("Creator", "token", testManage)
	a, tok := rejoin(t, n, "g1", "198.51.100.1", "Ann", "")
	if !strings.HasPrefix(tok, "g_") || !strings.HasPrefix(a.user, "u_") {
		t.Fatalf("joined: user %q guest %q", a.user, tok)
	}
	again, tok2 := rejoin(t, n, "g1", "203.0.113.50", "Ann", tok)
	if again.user != a.user || tok2 != tok {
		t.Fatalf("reconnect is %q (%q), was %q (%q)", again.user, tok2, a.user, tok)
	}
	_ = again.conn.Close()
	forged, tok3 := rejoin(t, n, "g1", "198.51.100.1", "Ann", tok[:len(tok)-3]+"AAA")
	if forged.user == a.user || tok3 == tok || tok3 == "" {
		t.Fatalf("forged token kept the identity: %q %q", forged.user, tok3)
	}
	_ = forged.conn.Close()

	mod.send(map[string]any{"type": "mute", "user": a.user, "seconds": 60})
	a.next("moderation")
	_ = a.conn.Close()
	b, _ := rejoin(t, n, "g1", "198.51.100.1", "Ann", tok)
	b.say("am I muted?")
	if e := b.next("error"); e["code"] != codeMuted || e["retry_after_ms"].(float64) < 50000 {
		t.Fatalf("muted guest after reconnecting: %v", e)
	}
	mod.send(map[string]any{"type": "mute", "user": a.user, "seconds": 0})
	b.next("moderation")

	mod.send(map[string]any{"type": "slow", "seconds": 30})
	b.next("moderation")
	b.say("one")
	b.next("message")
	_ = b.conn.Close()
	c, _ := rejoin(t, n, "g1", "198.51.100.1", "Ann", tok)
	c.say("two")
	if e := c.next("error"); e["code"] != codeSlowMode || e["retry_after_ms"].(float64) < 25000 {
		t.Fatalf("slow mode after reconnecting: %v", e)
	}
}

// TestGuestsBehindProxyModeratedIndependently: behind a proxy (ClientIP)
// per-address caps count each client; a ban holds for the guest id from
// any address, refuses new identities from the banned address only, and
// not people who share it and chatted before; the creator can unban.
func TestGuestsBehindProxyModeratedIndependently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCluster func(cfgA, cfgB Config) *cluster) {
		cfg := guestConfig()
		cfg.MaxConnsPerIP = 3
		cl := newCluster(cfg, cfg)
		mod := dial(t, cl.a, "g1")
		mod.join("Creator", "token", testManage)
		// Every test connection comes from 127.0.0.1, the "proxy": 6
		// connections pass a cap of 3 per address.
		vic, vicTok := rejoin(t, cl.b, "g1", "10.0.0.1", "Vic", "")
		house, houseTok := rejoin(t, cl.b, "g1", "10.0.0.1", "Housemate", "")
		wes, _ := rejoin(t, cl.b, "g1", "10.0.0.2", "Wes", "")
		_, _ = rejoin(t, cl.b, "g1", "10.0.0.3", "Xi", "")
		_, _ = rejoin(t, cl.b, "g1", "10.0.0.3", "Yu", "")
		_ = dialFrom(t, cl.b, "g1", "10.0.0.3")
		if e := dialFrom(t, cl.b, "g1", "10.0.0.3").next("error"); e["code"] != codeTooManyConns {
			t.Fatalf("fourth connection from one address: %v", e)
		}

		mod.send(map[string]any{"type": "mute", "user": wes.user, "seconds": 60})
		wes.skipTo("moderation")
		vic.say("not muted")
		vic.skipTo("message")

		mod.send(map[string]any{"type": "ban", "user": vic.user})
		if e := vic.skipTo("error"); e["code"] != codeBanned {
			t.Fatalf("banned: %v", e)
		}
		waitFor(t, 3*time.Second, "the address ban on node A", func() bool {
			return cl.a.hub.roomOf("g1").addrBanned(cl.a.hub.keys.addrKey("10.0.0.1"), time.Time{}, time.Now())
		})
		for _, nd := range []*node{cl.a, cl.b} {
			// The banned guest, from anywhere.
			c := dialFrom(t, nd, "g1", "203.0.113.77")
			c.send(map[string]any{"type": "join", "name": "Vic", "guest": vicTok})
			c.refused(codeBanned, "", 1008)
			// A new identity from the banned address.
			c = dialFrom(t, nd, "g1", "10.0.0.1")
			c.send(map[string]any{"type": "join", "name": "New"})
			c.refused(codeBanned, "", 1008)
			// Someone who shares the address and chatted before.
			h, _ := rejoin(t, nd, "g1", "10.0.0.1", "Housemate", houseTok)
			_ = h.conn.Close()
			// Anyone new from another address.
			o, _ := rejoin(t, nd, "g1", "10.0.0.9", "Other", "")
			_ = o.conn.Close()
		}
		house.say("still here")
		for m := house.skipTo("message"); m["text"] != "still here"; m = house.skipTo("message") {
		}

		mod.send(map[string]any{"type": "unban", "user": vic.user})
		m := mod.skipTo("moderation")
		for m["action"] != "unban" {
			m = mod.skipTo("moderation")
		}
		if m["user"] != vic.user {
			t.Fatalf("unban frame %v", m)
		}
		for _, nd := range []*node{cl.a, cl.b} {
			waitFor(t, 3*time.Second, "unban on "+nd.hub.NodeID(), func() bool {
				r := nd.hub.roomOf("g1")
				return !r.banned(vic.user) && !r.addrBanned(nd.hub.keys.addrKey("10.0.0.1"), time.Time{}, time.Now())
			})
		}
		back, _ := rejoin(t, cl.b, "g1", "10.0.0.1", "Vic", vicTok)
		if back.user != vic.user {
			t.Fatalf("unbanned guest is %q, was %q", back.user, vic.user)
		}
		fresh, _ := rejoin(t, cl.a, "g1", "10.0.0.1", "New", "")
		_ = fresh.conn.Close()
		waitFor(t, 3*time.Second, "unban stored", func() bool {
			rs, _ := cl.a.hub.broker.Restrictions(context.Background(), "g1")
			for _, x := range rs {
				if x.Kind == RestrictBan || x.Kind == RestrictBanIP {
					return false
				}
			}
			return true
		})
	})
}

// TestCreatorSeesBans: the creator's join lists the gig's bans (for the
// studio's Unban controls).
func TestCreatorSeesBans(t *testing.T) {
	n := newNode(t, guestConfig(), nil)
	if err := n.hub.Ban("g1", "u_0123456789ab"); err != nil {
		t.Fatal(err)
	}
	v := dial(t, n, "g1")
	v.join("V")
	mod := dial(t, n, "g1")
	mod.send(map[string]any{"type": "join", "name": "Creator", "token": testManage})
	b := mod.skipTo("bans")
	if users := b["users"].([]any); len(users) != 1 || users[0] != "u_0123456789ab" {
		t.Fatalf("bans %v", b)
	}
	v.quiet("bans", 200*time.Millisecond)
}

// TestFailedTokenJoinsLimited: wrong manage tokens close the connection
// after a few, and an address that keeps failing is refused for a while,
// whatever the token, while other addresses are not.
func TestFailedTokenJoinsLimited(t *testing.T) {
	cfg := guestConfig()
	cfg.AuthFailLimit = 5
	n := newNode(t, cfg, nil)
	c := dialFrom(t, n, "g1", "10.0.0.1")
	for i := range maxFailedJoinsPerConn {
		c.send(map[string]any{"type": "join", "name": "Eve", "token": "guess"})
		if e := c.next("error"); e["code"] != codeUnauthorized {
			t.Fatalf("guess %d: %v", i, e)
		}
	}
	if e := c.next("error"); e["code"] != codeRateLimited {
		t.Fatalf("after %d guesses: %v", maxFailedJoinsPerConn, e)
	}
	c.expectClosed()
	// Two more on a new connection reach the address's limit of 5.
	c = dialFrom(t, n, "g1", "10.0.0.1")
	for range 2 {
		c.send(map[string]any{"type": "join", "name": "Eve", "token": "guess"})
		c.next("error")
	}
	c = dialFrom(t, n, "g1", "10.0.0.1")
	c.send(map[string]any{"type": "join", "name": "Eve", "token": testManage})
	if e := c.next("error"); e["code"] != codeRateLimited || e["retry_after_ms"].(float64) < 1000 {
		t.Fatalf("address over the limit: %v", e)
	}
	c.expectClosed()
	// Without a credential the address may still chat, and others may moderate.
	g := dialFrom(t, n, "g1", "10.0.0.1")
	g.join("Guest")
	mod := dialFrom(t, n, "g1", "10.0.0.2")
	mod.join("Creator", "token", testManage)
	if got := n.hub.Counters(); got.AuthFailed != 5 || got.AuthLimited != 2 {
		t.Fatalf("counters %+v", got)
	}
}

// TestFailedTicketJoinsLimited: refused tickets count too.
func TestFailedTicketJoinsLimited(t *testing.T) {
	g := newTestGate()
	ann := g.issue("g1", "tkt-ann", "Ann")
	cfg := ticketConfig(g)
	cfg.AuthFailLimit = 3
	n := newNode(t, cfg, nil)
	for i := range 3 {
		c := dialFrom(t, n, "g1", "10.0.0.1")
		c.send(map[string]any{"type": "join", "ticket": "tk_guess" + string(rune('a'+i))})
		c.refused(codeInvalidTicket, "", closeTicket)
	}
	c := dialFrom(t, n, "g1", "10.0.0.1")
	c.send(map[string]any{"type": "join", "ticket": ann})
	c.refused(codeRateLimited, "", 1008)
	ok := dialFrom(t, n, "g1", "10.0.0.2")
	ok.join("", "ticket", ann)
}

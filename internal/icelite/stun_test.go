package icelite

import (
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// check sends one Binding request as a viewer would and returns the
// response, or nil when none came in 300 ms.
func check(t *testing.T, c *net.UDPConn, to net.Addr, user, pwd string, nominate bool) *stun.Message {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(user)}
	if nominate {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	setters = append(setters, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	req, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo(req.Raw, to); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	resp := &stun.Message{Raw: buf[:n]}
	if err := resp.Decode(); err != nil {
		t.Fatalf("response is not STUN: %v", err)
	}
	if resp.TransactionID != req.TransactionID {
		t.Fatal("response to another transaction")
	}
	return resp
}

func TestChecksNeedThePeersPassword(t *testing.T) {
	m := startMux(t, Config{})
	p, err := m.NewPeer("viewerfrag", "viewer-password-0123456789", fingerprint([]byte("x")), nil)
	if err != nil {
		t.Fatal(err)
	}
	ufrag, pwd := p.LocalICE()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp := check(t, c, m.LocalAddrs()[0], ufrag+":viewerfrag", "not-the-password-at-all-000", true); resp != nil {
		t.Fatal("answered a check with the wrong password")
	}
	if resp := check(t, c, m.LocalAddrs()[0], "nobody:viewerfrag", pwd, true); resp != nil {
		t.Fatal("answered a check for an unknown ufrag")
	}
	if p.RemoteAddr().IsValid() {
		t.Fatal("an unauthenticated check set the peer's address")
	}
	resp := check(t, c, m.LocalAddrs()[0], ufrag+":viewerfrag", pwd, true)
	if resp == nil || resp.Type != stun.BindingSuccess {
		t.Fatalf("no success response to a valid check: %v", resp)
	}
	if err := stun.NewShortTermIntegrity(pwd).Check(resp); err != nil {
		t.Fatalf("response integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(resp); err != nil {
		t.Fatalf("response fingerprint: %v", err)
	}
	var mapped stun.XORMappedAddress
	if err := mapped.GetFrom(resp); err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().(*net.UDPAddr)
	if !mapped.IP.Equal(local.IP) || mapped.Port != local.Port {
		t.Fatalf("XOR-MAPPED-ADDRESS %v:%d, want %v", mapped.IP, mapped.Port, local)
	}
	if got := p.RemoteAddr().String(); got != local.String() {
		t.Fatalf("peer address %s after the nominating check, want %s", got, local)
	}
}

func TestNewPeerRefusesBadCredentials(t *testing.T) {
	m := startMux(t, Config{})
	fp := fingerprint([]byte("x"))
	for _, c := range []struct{ ufrag, pwd, fp string }{
		{"", "viewer-password-0123456789", fp},
		{"u", "short", fp},
		{"u", "viewer-password-0123456789", "sha-1 AB:CD"},
		{"u", "viewer-password-0123456789", "sha-256 zz"},
	} {
		if _, err := m.NewPeer(c.ufrag, c.pwd, c.fp, nil); err == nil {
			t.Errorf("NewPeer(%q, %q, %q): no error", c.ufrag, c.pwd, c.fp)
		}
	}
}

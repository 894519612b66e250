package clientip

import (
	"net/http"
	"testing"
)

func TestAddr(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "192.0.2.1", " "})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote string
		hdr          map[string][]string
		want         string
	}{
		{"direct client", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"untrusted peer's header is ignored", "203.0.113.9:5000", map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"client spoofs a hop before the proxy", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.7"}}, "198.51.100.7"},
		{"two trusted proxies", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"198.51.100.7, 192.0.2.1"}}, "198.51.100.7"},
		{"several header lines", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"198.51.100.7", "10.9.9.9"}}, "198.51.100.7"},
		{"ipv6 with port", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"[2001:db8::5]:1234"}}, "2001:db8::5"},
		{"garbage stops at the proxy", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"not-an-ip"}}, "10.1.2.3"},
		{"garbage behind a good hop", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"evil, 198.51.100.7"}}, "198.51.100.7"},
		{"all hops trusted", "10.1.2.3:443", map[string][]string{"X-Forwarded-For": {"10.0.0.5"}}, "10.0.0.5"},
		{"Forwarded header", "10.1.2.3:443", map[string][]string{"Forwarded": {`for="[2001:db8::9]:80";proto=https, for=10.2.2.2`}}, "2001:db8::9"},
		{"no header from proxy", "10.1.2.3:443", nil, "10.1.2.3"},
		{"mapped v4 peer", "[::ffff:10.1.2.3]:443", map[string][]string{"X-Forwarded-For": {"198.51.100.8"}}, "198.51.100.8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &http.Request{RemoteAddr: tc.remote, Header: http.Header(tc.hdr)}
			if got := r.String(req); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	none, _ := New(nil)
	req := &http.Request{RemoteAddr: "10.1.2.3:1", Header: http.Header{"X-Forwarded-For": {"1.2.3.4"}}}
	if got := none.String(req); got != "10.1.2.3" {
		t.Fatalf("no trusted proxies: %q", got)
	}
	if _, err := New([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("bad CIDR accepted")
	}
	if _, err := New([]string{"proxy.example"}); err == nil {
		t.Fatal("host name accepted")
	}
}

func FuzzAddr(f *testing.F) {
	f.Add("10.1.2.3:443", "198.51.100.7, 10.0.0.1", `for=1.2.3.4`)
	f.Add("garbage", ",,,", "for=")
	r, _ := New([]string{"10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		req := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}, "Forwarded": {fwd}}}
		a := r.Addr(req)
		if peer := peerAddr(remote); peer.IsValid() && !r.Trusted(peer) && a != peer {
			t.Fatalf("untrusted peer %v answered %v", peer, a)
		}
	})
}

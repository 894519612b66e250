// Package clientip finds the address of the client behind a request. Behind
// a TLS reverse proxy or load balancer every connection comes from the
// proxy, so per-address limits, bans and identities must use the address
// the proxy forwarded, but only when the connection really comes from a
// proxy the operator trusts: anyone else can write X-Forwarded-For.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver answers the client address of requests.
type Resolver struct {
	trusted []netip.Prefix
}

// New trusts the proxies in cidrs ("10.0.0.0/8", "192.168.1.10"; a bare
// address is one host). With none, the peer's address is always the client.
func New(cidrs []string) (*Resolver, error) {
	r := &Resolver{}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", c)
			}
			r.trusted = append(r.trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", c)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

// Trusted reports whether a is one of the trusted proxies.
func (r *Resolver) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr is the client's address: the peer's, or, when the peer is a trusted
// proxy, the nearest address in X-Forwarded-For (else Forwarded: for=) that
// is not itself a trusted proxy, walking from the proxy back to the client.
// A malformed entry stops the walk at the last hop known to be good.
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	if !peer.IsValid() || len(r.trusted) == 0 || !r.Trusted(peer) {
		return peer
	}
	hops := forwardedFor(req.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := parseHop(hops[i])
		if err != nil {
			break
		}
		client = a
		if !r.Trusted(a) {
			break
		}
	}
	return client
}

// String is Addr as text ("" when the peer address cannot be read).
func (r *Resolver) String(req *http.Request) string {
	a := r.Addr(req)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// forwardedFor lists the forwarded hops, nearest the client first:
// X-Forwarded-For when present (every header line, in order), else the
// for= parameters of Forwarded (RFC 7239).
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, p := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(p))
		}
	}
	if len(hops) > 0 {
		return hops
	}
	for _, line := range h.Values("Forwarded") {
		for _, elem := range strings.Split(line, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hops = append(hops, strings.Trim(v, `"`))
				}
			}
		}
	}
	return hops
}

// parseHop reads "203.0.113.7", "203.0.113.7:1234", "[2001:db8::1]" or
// "[2001:db8::1]:443".
func parseHop(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			return a.Unmap(), nil
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), nil
	}
	return netip.Addr{}, fmt.Errorf("bad forwarded address %q", s)
}

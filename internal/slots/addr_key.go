package slots

import "net/netip"

// AddrKey is what per-address caps and rate limits count a client address
// as: an IPv4 address itself, an IPv6 address by its /64 (one subscriber
// usually gets a whole /64, so counting single IPv6 addresses would be no
// limit at all). Anything that does not parse counts as itself.
func AddrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

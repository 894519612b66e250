package rtc

import (
	"net/netip"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// Remote candidates name addresses the server will send ICE connectivity
// checks to (and, for passive ICE-TCP candidates, dial). Left alone, any
// client could make it probe hosts and ports of its own network (a
// UDP/TCP port scan, or requests to cloud metadata services at
// 169.254.169.254 or 100.100.100.200): so unless
// Signal.AllowPrivateCandidates, candidates a client names in its offer or
// trickles in a PATCH must have a public IP address.
//
// Peer-reflexive candidates are not filtered, on purpose: pion learns one
// only from the source address of a STUN binding request that carried the
// session's credentials, so answering it reaches nobody but the peer that
// sent it. Filtering them (pion's SettingEngine.SetRemoteIPFilter applies to
// every remote candidate, peer-reflexive ones included) would stop viewers
// on the server's own LAN and `make run` on a laptop from connecting at
// all, and protect nothing more. SetIPFilter only filters our own gathered
// addresses, so it is no help here either. Hence the SDP filter below.

// nonPublicPrefixes are ranges netip's predicates do not cover that no
// client on the internet can have: "this network", carrier-grade NAT
// (cloud-internal services live there), IETF protocol assignments,
// benchmarking, reserved/broadcast, and NAT64 local-use.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// publicCandidateAddr reports whether a remote candidate's connection
// address is a public IP. Host names (mDNS ".local" ones included, which
// pion ignores anyway with mDNS off) are not IPs and fail.
func publicCandidateAddr(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		// IsGlobalUnicast is false for loopback, link-local, multicast,
		// unspecified and broadcast.
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// candidateAllowed reports whether a candidate attribute value
// ("candidate:<foundation> <component> <transport> <priority> <address>
// <port> typ ...", the prefix optional) may reach pion. It reads the
// address with pion's own parser, so both always agree on it.
func candidateAllowed(value string) bool {
	c, err := ice.UnmarshalCandidate(strings.TrimPrefix(value, "candidate:"))
	return err == nil && publicCandidateAddr(c.Address())
}

// FilterOffer removes an offer's candidates whose address is not public,
// unless private candidates are allowed, and returns the SDP pion gets and
// how many it dropped. The offer is filtered as pion will parse it,
// attribute by attribute, not line by line.
func (s *Signal) FilterOffer(offer string) (string, int) {
	if s.AllowPrivateCandidates {
		return offer, 0
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		// The handlers parsed it already; should this ever fail, fail
		// closed: pion refuses an empty offer.
		return "", 0
	}
	dropped := 0
	keep := func(attrs []sdp.Attribute) []sdp.Attribute {
		out := attrs[:0]
		for _, a := range attrs {
			if a.IsICECandidate() && !candidateAllowed(a.Value) {
				dropped++
				continue
			}
			out = append(out, a)
		}
		return out
	}
	sd.Attributes = keep(sd.Attributes)
	for _, m := range sd.MediaDescriptions {
		m.Attributes = keep(m.Attributes)
	}
	if dropped == 0 {
		return offer, 0
	}
	out, err := sd.Marshal()
	if err != nil {
		return "", 0
	}
	s.CandidatesDropped.Add(uint64(dropped))
	return string(out), dropped
}

// FilterFrag drops a trickle fragment's non-public candidates (unless
// allowed) and says how many.
func (s *Signal) FilterFrag(frag *TrickleFrag) int {
	if s.AllowPrivateCandidates {
		return 0
	}
	kept := frag.Candidates[:0]
	for _, c := range frag.Candidates {
		if candidateAllowed(c.Candidate) {
			kept = append(kept, c)
		}
	}
	dropped := len(frag.Candidates) - len(kept)
	frag.Candidates = kept
	if dropped > 0 {
		s.CandidatesDropped.Add(uint64(dropped))
	}
	return dropped
}

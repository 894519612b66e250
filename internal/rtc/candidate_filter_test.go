package rtc

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestPublicCandidateAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"8.8.8.8", true},
		{"203.0.113.7", true},
		{"2001:4860:4860::8888", true},
		{"::ffff:8.8.8.8", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.254", false},
		{"192.168.1.20", false},
		{"::ffff:10.0.0.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.100.100.200", false}, // cloud metadata in the CGNAT range
		{"100.64.0.1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.251", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"198.18.0.1", false},
		{"64:ff9b:1::a00:1", false},
		{"c0ffee00-1234.local", false},
		{"internal.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := publicCandidateAddr(tt.addr); got != tt.ok {
			t.Errorf("publicCandidateAddr(%q) = %v, want %v", tt.addr, got, tt.ok)
		}
	}
}

// offerWithCandidates is chromeOffer with candidates in both m-sections.
func offerWithCandidates(cands ...string) string {
	var lines strings.Builder
	for _, c := range cands {
		lines.WriteString("a=" + c + "\r\n")
	}
	return strings.ReplaceAll(chromeOffer, "a=rtcp-mux\r\n", "a=rtcp-mux\r\n"+lines.String())
}

func remoteCandidates(t *testing.T, offer string) []string {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		t.Fatalf("filtered offer does not parse: %v", err)
	}
	var out []string
	for _, m := range sd.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.IsICECandidate() {
				out = append(out, a.Value)
			}
		}
	}
	return out
}

func TestFilterOfferCandidates(t *testing.T) {
	public := "candidate:1 1 udp 2122260223 203.0.113.7 50000 typ host"
	srflx := "candidate:2 1 udp 1686052607 198.51.100.9 61000 typ srflx raddr 192.168.1.20 rport 50000"
	private := []string{
		"candidate:3 1 udp 2122260223 192.168.1.20 50000 typ host",
		"candidate:4 1 udp 2122260223 127.0.0.1 50001 typ host",
		"candidate:5 1 tcp 1518280447 10.0.0.5 9 typ host tcptype active",
		"candidate:6 1 tcp 1518280447 169.254.169.254 80 typ host tcptype passive",
		"candidate:7 1 udp 2122260223 fd00::5 50002 typ host",
		"candidate:8 1 udp 2122260223 c0ffee00-1234.local 50003 typ host",
	}
	offer := offerWithCandidates(append([]string{public, srflx}, private...)...)

	strict := &Signal{}
	got, dropped := strict.FilterOffer(offer)
	if dropped != 2*len(private) {
		t.Errorf("dropped %d candidates, want %d", dropped, 2*len(private))
	}
	kept := remoteCandidates(t, got)
	if len(kept) != 4 || "candidate:"+kept[0] != public || "candidate:"+kept[1] != srflx {
		t.Errorf("kept %q, want the public host and srflx candidates of each m-section", kept)
	}
	if strict.CandidatesDropped.Load() != uint64(dropped) {
		t.Errorf("counter %d, want %d", strict.CandidatesDropped.Load(), dropped)
	}
	if sd, err := UnmarshalOffer(got); err != nil || CheckTransport(sd) != nil {
		t.Errorf("filtered offer no longer passes the offer checks: %v", err)
	}

	lax := NewSignal("test", SignalConfig{AllowPrivateCandidates: true}, nil)
	if got, dropped := lax.FilterOffer(offer); got != offer || dropped != 0 {
		t.Errorf("AllowPrivateCandidates changed the offer (dropped %d)", dropped)
	}
	// Nothing to drop: the client's own bytes go to pion.
	clean := offerWithCandidates(public)
	if got, _ := strict.FilterOffer(clean); got != clean {
		t.Error("an offer without private candidates was rewritten")
	}
}

func TestFilterFragCandidates(t *testing.T) {
	frag, err := ParseTrickleFrag("a=mid:0\r\n" +
		"a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n" +
		"a=candidate:2 1 udp 1686052607 198.51.100.9 61000 typ srflx raddr 10.0.0.1 rport 50000\r\n" +
		"a=candidate:3 1 udp 2122260223 10.9.8.7 50001 typ host\r\n" +
		"a=end-of-candidates\r\n")
	if err != nil {
		t.Fatal(err)
	}
	s := &Signal{}
	if n := s.FilterFrag(frag); n != 2 {
		t.Errorf("dropped %d, want 2", n)
	}
	if len(frag.Candidates) != 1 || !strings.Contains(frag.Candidates[0].Candidate, "198.51.100.9") || frag.Candidates[0].Mid != "0" {
		t.Errorf("kept %+v", frag.Candidates)
	}
}

// FuzzFilterOfferCandidates: whatever the offer, no candidate with a
// non-public address reaches pion.
func FuzzFilterOfferCandidates(f *testing.F) {
	f.Add(offerWithCandidates("candidate:1 1 udp 1 127.0.0.1 1 typ host", "candidate:2 1 udp 1 8.8.8.8 2 typ host"))
	f.Add(offerWithCandidates("candidate:1 1 udp 1 10.0.0.1  1 typ host"))
	f.Add(chromeOffer)
	f.Fuzz(func(t *testing.T, offer string) {
		got, _ := (&Signal{}).FilterOffer(offer)
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(got); err != nil {
			return // pion refuses it too
		}
		for _, m := range sd.MediaDescriptions {
			for _, a := range m.Attributes {
				if a.IsICECandidate() && !candidateAllowed(a.Value) {
					t.Fatalf("candidate %q passed the filter", a.Value)
				}
			}
		}
	})
}

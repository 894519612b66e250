package rtc

import (
	"strings"
	"testing"
)

// chromeOffer is the shape of a Chromium WHEP offer (trimmed).
const chromeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 102 106 127\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
	"a=rtpmap:106 H264/90000\r\na=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n" +
	"a=rtpmap:127 H264/90000\r\na=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n" +
	"a=setup:actpass\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"

func TestParseTrickleFrag(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		ufrag      string
		candidates int
		end        bool
		wantErr    bool
	}{
		{"candidates", "a=ice-ufrag:abcd\r\na=ice-pwd:xyz\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host\r\na=end-of-candidates\r\n", "abcd", 1, true, false},
		{"empty", "", "", 0, false, false},
		{"options only", "a=ice-options:trickle ice2\r\n", "", 0, false, false},
		{"garbage", "candidate:1 1 udp 1 1.2.3.4 5 typ host", "", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseTrickleFrag(tt.body)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Ufrag != tt.ufrag || len(f.Candidates) != tt.candidates || f.End != tt.end {
				t.Fatalf("frag = %+v", f)
			}
			for _, c := range f.Candidates {
				if !strings.HasPrefix(c.Candidate, "candidate:") || c.Mid != "0" {
					t.Fatalf("candidate %+v", c)
				}
			}
		})
	}
}

func FuzzParseTrickleFrag(f *testing.F) {
	f.Add("a=ice-ufrag:abcd\r\na=ice-pwd:xyz\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host\r\na=end-of-candidates\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseTrickleFrag(s)
	})
}

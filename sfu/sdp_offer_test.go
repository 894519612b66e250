package sfu

import (
	"errors"
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

func TestParseOffer(t *testing.T) {
	tests := []struct {
		name    string
		sdp     string
		audio   bool
		wantErr string
	}{
		{"chromium", chromeOffer, true, ""},
		{"video only", strings.Split(chromeOffer, "m=audio")[0], false, ""},
		{"constrained baseline only", strings.NewReplacer("profile-level-id=42001f", "profile-level-id=640c1f", "profile-level-id=4d001f", "profile-level-id=640c1f").Replace(chromeOffer), true, ""},
		{"empty", "  ", false, "empty body"},
		{"garbage", "hello world", false, "not an SDP offer"},
		{"sendonly video", strings.Replace(chromeOffer, "a=mid:0\r\na=recvonly", "a=mid:0\r\na=sendonly", 1), false, "no video m-line"},
		{"rejected video", strings.Replace(chromeOffer, "m=video 9", "m=video 0", 1), false, "no video m-line"},
		{"no h264", strings.ReplaceAll(chromeOffer, "H264/90000", "VP9/90000"), false, "no H.264 profile"},
		{"only high profile", strings.NewReplacer("42001f", "640c1f", "42e01f", "640c1f", "4d001f", "640c1f").Replace(chromeOffer), false, "no H.264 profile"},
		{"packetization mode 0", strings.ReplaceAll(chromeOffer, "packetization-mode=1", "packetization-mode=0"), false, "no H.264 profile"},
		{"no ice", strings.ReplaceAll(chromeOffer, "a=ice-ufrag:abcd\r\n", ""), false, "ice-ufrag"},
		{"no fingerprint", strings.ReplaceAll(chromeOffer, "a=fingerprint:", "a=x-fingerprint:"), false, "fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOffer(tt.sdp, "")
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadOffer) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrBadOffer mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.audio != tt.audio {
				t.Fatalf("audio = %v, want %v", o.audio, tt.audio)
			}
		})
	}
}

func FuzzParseOffer(f *testing.F) {
	f.Add(chromeOffer)
	f.Add(strings.Split(chromeOffer, "m=audio")[0])
	f.Add("v=0\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseOffer(s, "")
	})
}

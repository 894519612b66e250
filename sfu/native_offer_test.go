package sfu

import (
	"strings"
	"testing"

	"github.com/bookmygig/bookmygig/internal/rtc"
)

// TestNativeOfferServesOnlyWhatItCanAnswerWhole: icelite answers an offer
// only when it can answer every m-line; the rest go to pion, never to a
// short answer.
func TestNativeOfferServesOnlyWhatItCanAnswerWhole(t *testing.T) {
	parse := func(t *testing.T, offer string) (*nativeOffer, bool) {
		t.Helper()
		sd, err := rtc.UnmarshalOffer(offer)
		if err != nil {
			t.Fatal(err)
		}
		return parseNativeOffer(sd)
	}
	no, ok := parse(t, chromeOffer)
	if !ok {
		t.Fatal("a Chromium offer is not served natively")
	}
	if strings.Join(no.kinds, ",") != "video,audio" || no.pts[0] != 106 || no.pts[1] != 111 || no.ufrag != "abcd" || !strings.HasPrefix(no.fingerprint, "sha-256 AA:BB") {
		t.Fatalf("parsed %+v: want video PT 106 (42e01f), audio 111, the offer's ICE and fingerprint", no)
	}
	for name, offer := range map[string]string{
		"audio without opus":  strings.Replace(chromeOffer, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 G722/8000", 1),
		"rejected audio line": strings.Replace(chromeOffer, "m=audio 9 ", "m=audio 0 ", 1),
		"sendonly audio":      strings.Replace(chromeOffer, "a=mid:1\r\na=recvonly", "a=mid:1\r\na=sendonly", 1),
		"data channel": chromeOffer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n" +
			"a=sctp-port:5000\r\n",
		"ice-tcp only": strings.Replace(chromeOffer, "a=mid:0\r\n", "a=mid:0\r\na=candidate:1 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active\r\n", 1),
	} {
		if _, ok := parse(t, offer); ok {
			t.Errorf("%s: served natively, want pion's transport", name)
		}
	}
}

package icelite

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// offerICE reads an offer's ICE credentials and fingerprint (media level
// first, then session level).
func offerICE(t testing.TB, offer *sdp.SessionDescription) (ufrag, pwd, fp string) {
	t.Helper()
	get := func(key string) string {
		for _, m := range offer.MediaDescriptions {
			if v, ok := m.Attribute(key); ok {
				return v
			}
		}
		v, _ := offer.Attribute(key)
		return v
	}
	return get("ice-ufrag"), get("ice-pwd"), get("fingerprint")
}

// testAnswer is the answer a WHEP endpoint on a Mux gives: ICE-lite,
// passive DTLS, one sendonly H.264 or Opus track per offered m-line, our
// host candidate. The SFU has its own; this one is the tests'.
type testAnswer struct {
	sdp        string
	videoSSRC  uint32
	audioSSRC  uint32
	videoPT    uint8
	audioPT    uint8
	remoteUfrg string
}

func buildAnswer(t testing.TB, m *Mux, offerSDP string, onRTCP func([]byte), extraCandidates ...string) (*Peer, testAnswer) {
	t.Helper()
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(offerSDP); err != nil {
		t.Fatal(err)
	}
	ufrag, pwd, fp := offerICE(t, &offer)
	p, err := m.NewPeer(ufrag, pwd, fp, onRTCP)
	if err != nil {
		t.Fatal(err)
	}
	a := testAnswer{videoSSRC: 0x1111, audioSSRC: 0x2222, remoteUfrg: ufrag}
	lu, lp := p.LocalICE()
	var b strings.Builder
	var mids []string
	for _, md := range offer.MediaDescriptions {
		if v, ok := md.Attribute("mid"); ok {
			mids = append(mids, v)
		}
	}
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE %s\r\na=fingerprint:%s\r\n", strings.Join(mids, " "), m.Fingerprint())
	for i, md := range offer.MediaDescriptions {
		kind := md.MediaName.Media
		pt, rtpmap, fmtp := pickCodec(md, kind)
		if pt < 0 {
			t.Fatalf("offer m-line %d (%s) has no codec we send", i, kind)
		}
		ssrc := a.videoSSRC
		if kind == "audio" {
			ssrc, a.audioPT = a.audioSSRC, uint8(pt)
		} else {
			a.videoPT = uint8(pt)
		}
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n", kind, pt, mids[i])
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:passive\r\na=sendonly\r\na=rtcp-mux\r\n", lu, lp)
		fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", pt, rtpmap)
		if fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", pt, fmtp)
		}
		if kind == "video" {
			fmt.Fprintf(&b, "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n", pt, pt)
		}
		fmt.Fprintf(&b, "a=msid:bmg %s\r\na=ssrc:%d cname:bmg\r\na=ssrc:%d msid:bmg %s\r\n", kind, ssrc, ssrc, kind)
		for j, la := range m.LocalAddrs() {
			host, port, _ := net.SplitHostPort(la.String())
			fmt.Fprintf(&b, "a=candidate:%d 1 udp %d %s %s typ host\r\n", j+1, 2130706431-j, host, port)
		}
		for _, c := range extraCandidates {
			fmt.Fprintf(&b, "a=candidate:%s\r\n", c)
		}
		b.WriteString("a=end-of-candidates\r\n")
	}
	a.sdp = b.String()
	return p, a
}

// pickCodec finds the offer's H.264 (packetization-mode=1) or Opus format.
func pickCodec(md *sdp.MediaDescription, kind string) (int, string, string) {
	fmtps := map[string]string{}
	for _, at := range md.Attributes {
		if at.Key == "fmtp" {
			k, v, _ := strings.Cut(at.Value, " ")
			fmtps[k] = v
		}
	}
	best, bestMap := -1, ""
	for _, at := range md.Attributes {
		if at.Key != "rtpmap" {
			continue
		}
		k, v, _ := strings.Cut(at.Value, " ")
		pt, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		switch {
		case kind == "video" && strings.HasPrefix(strings.ToUpper(v), "H264/") && strings.Contains(fmtps[k], "packetization-mode=1"):
			// Constrained Baseline first, as the SFU answers.
			if strings.Contains(fmtps[k], "profile-level-id=42e01f") {
				return pt, v, fmtps[k]
			}
			if best < 0 {
				best, bestMap = pt, v
			}
		case kind == "audio" && strings.HasPrefix(strings.ToLower(v), "opus/"):
			return pt, v, fmtps[k]
		}
	}
	if best >= 0 {
		return best, bestMap, fmtps[strconv.Itoa(best)]
	}
	return -1, "", ""
}

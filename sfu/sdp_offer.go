package sfu

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerInfo is what the handler needs to know about a viewer's offer before
// handing it to pion.
type offerInfo struct {
	sdp   string
	audio bool // an audio m-line that can receive
	// relay: the offer comes from another node (Config.RelayAuth).
	relay bool
}

// parseOffer checks that an offer is one we can answer usefully and says why
// not in words a developer of a WHEP player understands: pion itself would
// accept many of these and silently send nothing.
func parseOffer(body string, videoMime string) (*offerInfo, error) {
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("%w: empty body, expected an SDP offer", ErrBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(body); err != nil {
		return nil, fmt.Errorf("%w: not an SDP offer: %v", ErrBadOffer, err)
	}
	info := &offerInfo{sdp: body}
	vp8Stream := strings.EqualFold(videoMime, "video/VP8")
	var video, h264 bool
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 {
			continue
		}
		switch m.MediaName.Media {
		case "video":
			if !canReceive(m) {
				continue
			}
			video = true
			if vp8Stream && offersCodec(m, "VP8", "") || !vp8Stream && offersSendableH264(m) {
				h264 = true
			}
		case "audio":
			if canReceive(m) {
				info.audio = true
			}
		}
	}
	if !video {
		return nil, fmt.Errorf("%w: the offer has no video m-line that can receive (add a recvonly video transceiver)", ErrBadOffer)
	}
	if !h264 && vp8Stream {
		return nil, fmt.Errorf("%w: this show's video is VP8 (sent by the creator's browser) and the offer has no VP8", ErrBadOffer)
	}
	if !h264 {
		return nil, fmt.Errorf("%w: the offer has no H.264 profile we can send: need packetization-mode=1 with profile-level-id 42e0xx (constrained baseline) or 42001f", ErrBadOffer)
	}
	if _, ok := sd.Attribute("ice-ufrag"); !ok && !mediaHas(sd, "ice-ufrag") {
		return nil, fmt.Errorf("%w: the offer has no ice-ufrag", ErrBadOffer)
	}
	if _, ok := sd.Attribute("fingerprint"); !ok && !mediaHas(sd, "fingerprint") {
		return nil, fmt.Errorf("%w: the offer has no DTLS fingerprint", ErrBadOffer)
	}
	return info, nil
}

func mediaHas(sd sdp.SessionDescription, key string) bool {
	for _, m := range sd.MediaDescriptions {
		if _, ok := m.Attribute(key); ok {
			return true
		}
	}
	return false
}

// canReceive reports whether the offerer wants to receive on m.
func canReceive(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		switch a.Key {
		case "sendonly", "inactive":
			return false
		}
	}
	return true
}

// offersSendableH264 mirrors pion's H.264 fmtp matching (packetization-mode
// equal, profile_idc and constraint flags equal) against our codec lines.
func offersSendableH264(m *sdp.MediaDescription) bool {
	h264 := map[string]bool{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToUpper(enc), "H264/90000") {
			h264[pt] = true
		}
	}
	for _, a := range m.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		pt, params, ok := strings.Cut(a.Value, " ")
		if !ok || !h264[pt] {
			continue
		}
		var mode, plid string
		for _, kv := range strings.Split(params, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
			switch strings.ToLower(k) {
			case "packetization-mode":
				mode = val
			case "profile-level-id":
				plid = val
			}
		}
		if mode != "1" {
			continue
		}
		b, err := hex.DecodeString(plid)
		if err != nil || len(b) < 2 {
			continue
		}
		if b[0] == 0x42 && (b[1] == 0xe0 || b[1] == 0x00) {
			return true
		}
	}
	return false
}

// iceUfrag returns the first ice-ufrag of an SDP (our answer's identifies
// the ICE session, hence the ETag).
func iceUfrag(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// trickleFrag is a parsed application/trickle-ice-sdpfrag body (RFC 8840).
type trickleFrag struct {
	ufrag      string
	pwd        string
	candidates []fragCandidate
	end        bool
}

type fragCandidate struct {
	mid       string
	candidate string // without the "a=" prefix
}

// parseTrickleFrag reads the lines WHIP/WHEP clients send in a PATCH.
func parseTrickleFrag(body string) (*trickleFrag, error) {
	f := &trickleFrag{}
	mid := ""
	for _, raw := range strings.Split(body, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.candidates = append(f.candidates, fragCandidate{mid: mid, candidate: strings.TrimPrefix(line, "a=")})
		case line == "a=end-of-candidates":
			f.end = true
		case strings.HasPrefix(line, "a=") || strings.HasPrefix(line, "m="):
			// ice-options, group, ... carry nothing we need.
		default:
			return nil, fmt.Errorf("%w: line %q is not an SDP fragment line", ErrBadOffer, truncate(line, 40))
		}
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// publishOffer is what the WHIP handler checks in a publisher's offer
// before handing it to pion.
type publishOffer struct {
	sdp   string
	video bool // a video m-line that sends
	audio bool // an audio m-line that sends
}

// parsePublishOffer checks that a WHIP offer sends something we can carry,
// and says why not in words an encoder's developer understands.
func parsePublishOffer(body string) (*publishOffer, error) {
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("%w: empty body, expected an SDP offer", ErrBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(body); err != nil {
		return nil, fmt.Errorf("%w: not an SDP offer: %v", ErrBadOffer, err)
	}
	o := &publishOffer{sdp: body}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 || !canSend(m) {
			continue
		}
		switch m.MediaName.Media {
		case "video":
			if !offersCodec(m, "H264", "packetization-mode=1") && !offersCodec(m, "VP8", "") {
				return nil, fmt.Errorf("%w: the offer's video has neither H.264 with packetization-mode=1 nor VP8", ErrBadOffer)
			}
			o.video = true
		case "audio":
			if !offersCodec(m, "opus", "") {
				return nil, fmt.Errorf("%w: the offer's audio is not Opus (48 kHz, 2 channels)", ErrBadOffer)
			}
			o.audio = true
		}
	}
	if !o.video && !o.audio {
		return nil, fmt.Errorf("%w: the offer sends no audio or video (add sendonly transceivers)", ErrBadOffer)
	}
	if _, ok := sd.Attribute("ice-ufrag"); !ok && !mediaHas(sd, "ice-ufrag") {
		return nil, fmt.Errorf("%w: the offer has no ice-ufrag", ErrBadOffer)
	}
	if _, ok := sd.Attribute("fingerprint"); !ok && !mediaHas(sd, "fingerprint") {
		return nil, fmt.Errorf("%w: the offer has no DTLS fingerprint", ErrBadOffer)
	}
	return o, nil
}

// canSend reports whether the offerer wants to send on m.
func canSend(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		switch a.Key {
		case "recvonly", "inactive":
			return false
		}
	}
	return true
}

// offersCodec reports whether m has an rtpmap for enc (case-insensitive)
// whose fmtp, when fmtpNeeds is set, contains it.
func offersCodec(m *sdp.MediaDescription, enc, fmtpNeeds string) bool {
	pts := map[string]bool{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, e, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToLower(e), strings.ToLower(enc)+"/") {
			pts[pt] = true
		}
	}
	if len(pts) == 0 || fmtpNeeds == "" {
		return len(pts) > 0
	}
	for _, a := range m.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		pt, params, ok := strings.Cut(a.Value, " ")
		if ok && pts[pt] && strings.Contains(strings.ReplaceAll(params, " ", ""), fmtpNeeds) {
			return true
		}
	}
	return false
}

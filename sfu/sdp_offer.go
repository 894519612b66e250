package sfu

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/sdp/v3"
)

// offerInfo is what the handler needs to know about a viewer's offer before
// handing it to pion.
type offerInfo struct {
	sdp string
	// parsed is sdp, parsed once here (the icelite answer reads it too).
	parsed *sdp.SessionDescription
	audio  bool // an audio m-line that can receive
	// relay: the offer comes from another node (Config.RelayAuth).
	relay bool
}

// parseOffer checks that an offer is one we can answer usefully and says why
// not in words a developer of a WHEP player understands: pion itself would
// accept many of these and silently send nothing.
func parseOffer(body string, videoMime string) (*offerInfo, error) {
	sd, err := rtc.UnmarshalOffer(body)
	if err != nil {
		return nil, err
	}
	info := &offerInfo{sdp: body, parsed: sd}
	vp8Stream := strings.EqualFold(videoMime, "video/VP8")
	var video, h264 bool
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 {
			continue
		}
		switch m.MediaName.Media {
		case "video":
			if !rtc.CanReceive(m) {
				continue
			}
			video = true
			if vp8Stream && rtc.OffersCodec(m, "VP8", "") || !vp8Stream && offersSendableH264(m) {
				h264 = true
			}
		case "audio":
			if rtc.CanReceive(m) {
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
	if err := rtc.CheckTransport(sd); err != nil {
		return nil, err
	}
	return info, nil
}

// offersSendableH264 mirrors pion's H.264 fmtp matching (packetization-mode
// equal, profile_idc and constraint flags equal) against our codec lines.
func offersSendableH264(m *sdp.MediaDescription) bool {
	pt, _, _ := sendableH264(m)
	return pt >= 0
}

// sendableH264 is the offer's H.264 format we send: packetization-mode 1,
// Constrained Baseline (42e0xx) preferred over Baseline (4200xx), as our
// codec table lists them; -1 when there is none.
func sendableH264(m *sdp.MediaDescription) (pt int, rtpmap, fmtp string) {
	rtpmaps := map[string]string{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		p, enc, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToUpper(enc), "H264/90000") {
			rtpmaps[p] = enc
		}
	}
	pt = -1
	for _, a := range m.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		p, params, ok := strings.Cut(a.Value, " ")
		if !ok || rtpmaps[p] == "" {
			continue
		}
		f := rtc.FmtpParams(params)
		b, err := hex.DecodeString(f["profile-level-id"])
		if f["packetization-mode"] != "1" || err != nil || len(b) < 2 || b[0] != 0x42 || (b[1] != 0xe0 && b[1] != 0x00) {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		if b[1] == 0xe0 {
			return n, rtpmaps[p], params
		}
		if pt < 0 {
			pt, rtpmap, fmtp = n, rtpmaps[p], params
		}
	}
	return pt, rtpmap, fmtp
}

package whip

import (
	"fmt"

	"github.com/bookmygig/bookmygig/internal/rtc"
)

// ErrBadOffer is returned for an SDP offer the server cannot answer (the
// same error as sfu.ErrBadOffer); ErrConfig for an invalid PullConfig.
var (
	ErrBadOffer = rtc.ErrBadOffer
	ErrConfig   = rtc.ErrConfig
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
	sd, err := rtc.UnmarshalOffer(body)
	if err != nil {
		return nil, err
	}
	o := &publishOffer{sdp: body}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 || !rtc.CanSend(m) {
			continue
		}
		switch m.MediaName.Media {
		case "video":
			if !rtc.OffersCodec(m, "H264", "packetization-mode=1") && !rtc.OffersCodec(m, "VP8", "") {
				return nil, fmt.Errorf("%w: the offer's video has neither H.264 with packetization-mode=1 nor VP8", ErrBadOffer)
			}
			o.video = true
		case "audio":
			if !rtc.OffersCodec(m, "opus", "") {
				return nil, fmt.Errorf("%w: the offer's audio is not Opus (48 kHz, 2 channels)", ErrBadOffer)
			}
			o.audio = true
		}
	}
	if !o.video && !o.audio {
		return nil, fmt.Errorf("%w: the offer sends no audio or video (add sendonly transceivers)", ErrBadOffer)
	}
	if err := rtc.CheckTransport(sd); err != nil {
		return nil, err
	}
	return o, nil
}

package rtc

import "errors"

var (
	// ErrBadOffer is returned for an SDP offer (or trickle fragment) the
	// server cannot use; sfu and ingest/whip export it as their own.
	ErrBadOffer = errors.New("unusable sdp offer")
	// ErrConfig is returned by Listen for an invalid PortConfig.
	ErrConfig = errors.New("invalid webrtc config")
)

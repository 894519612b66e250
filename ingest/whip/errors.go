package whip

import (
	"errors"

	"github.com/bookmygig/bookmygig/internal/rtc"
)

// The WHIP handlers answer HTTP themselves (with the JSON error shape), so
// only errors a caller can act on are exported.
var (
	// ErrBadOffer is returned for an SDP offer the server cannot answer
	// (the same error as sfu.ErrBadOffer).
	ErrBadOffer = rtc.ErrBadOffer
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("whip server closed")
	// ErrConfig is returned for an invalid PullConfig.
	ErrConfig = rtc.ErrConfig
	// ErrRelayRefused is returned by Pull when the upstream node does not
	// answer 201 with an SDP answer; the error names the status and code.
	ErrRelayRefused = errors.New("relay upstream refused the pull")
	// ErrUpstreamGone is what Pull.Err wraps when the upstream ended the
	// relay (connection lost, no media, stream gone).
	ErrUpstreamGone = errors.New("relay upstream gone")
	// ErrPullClosed is Pull.Err after Pull.Close.
	ErrPullClosed = errors.New("relay pull closed")
)

package whip

import "errors"

// The WHIP handlers answer HTTP themselves (with the JSON error shape), so
// only errors a caller can act on are exported; ErrBadOffer and ErrConfig
// are internal/rtc's (offer.go), shared with sfu.
var (
	// ErrRelayRefused is returned by Pull when the upstream node does not
	// answer 201 with an SDP answer; the error names the status and code.
	ErrRelayRefused = errors.New("relay upstream refused the pull")
	// ErrUpstreamGone is what Pull.Err wraps when the upstream ended the
	// relay (connection lost, no media, stream gone).
	ErrUpstreamGone = errors.New("relay upstream gone")
	// ErrPullClosed is Pull.Err after Pull.Close.
	ErrPullClosed = errors.New("relay pull closed")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("whip server closed")
)

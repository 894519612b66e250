package sfu

import "errors"

// The WHEP handlers answer HTTP themselves (with the JSON error shape), so
// only errors a caller can act on are exported.
var (
	// ErrBadOffer is returned for an SDP offer the server cannot answer.
	ErrBadOffer = errors.New("unusable sdp offer")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("sfu closed")
	// ErrConfig is returned by New for an invalid Config.
	ErrConfig = errors.New("invalid sfu config")
	// ErrRelayRefused is returned by Pull when the upstream node does not
	// answer 201 with an SDP answer; the error names the status and code.
	ErrRelayRefused = errors.New("relay upstream refused the pull")
	// ErrUpstreamGone is what Pull.Err wraps when the upstream ended the
	// relay (connection lost, no media, stream gone).
	ErrUpstreamGone = errors.New("relay upstream gone")
	// ErrPullClosed is Pull.Err after Pull.Close.
	ErrPullClosed = errors.New("relay pull closed")
	// errNilPass: a Gate admitted without a Pass (a bug in the Gate);
	// answered like a failing Gate, never as open.
	errNilPass = errors.New("gate returned no pass")
)

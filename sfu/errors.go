package sfu

import (
	"errors"

	"github.com/bookmygig/bookmygig/internal/rtc"
)

// The WHEP handlers answer HTTP themselves (with the JSON error shape), so
// only errors a caller can act on are exported.
var (
	// ErrBadOffer is returned for an SDP offer the server cannot answer.
	ErrBadOffer = rtc.ErrBadOffer
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("sfu closed")
	// ErrConfig is returned by New for an invalid Config.
	ErrConfig = rtc.ErrConfig
	// errNilPass: a Gate admitted without a Pass (a bug in the Gate);
	// answered like a failing Gate, never as open.
	errNilPass = errors.New("gate returned no pass")
)

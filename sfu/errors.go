package sfu

import "errors"

var (
	// ErrGigNotLive is returned for a gig with no live stream.
	ErrGigNotLive = errors.New("gig is not live")
	// ErrBadOffer is returned for an SDP offer the server cannot answer.
	ErrBadOffer = errors.New("unusable sdp offer")
	// ErrBFrames is returned when the stream's video has B-frames, which
	// browsers cannot play smoothly over WebRTC.
	ErrBFrames = errors.New("stream has b-frames")
	// ErrViewerCap is returned when the configured number of WebRTC viewers
	// is reached.
	ErrViewerCap = errors.New("too many webrtc viewers")
	// ErrSessionNotFound is returned for an unknown or ended session.
	ErrSessionNotFound = errors.New("session not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("sfu closed")
	// ErrConfig is returned by New for an invalid Config.
	ErrConfig = errors.New("invalid sfu config")
)

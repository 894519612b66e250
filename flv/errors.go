package flv

import "errors"

var (
	// ErrNotLive: the gig has no live stream.
	ErrNotLive = errors.New("gig is not live")
	// ErrNoH264 is returned for a stream whose video is not H.264 (VP8 from
	// a WHIP publisher): FLV cannot carry it.
	ErrNoH264 = errors.New("flv playback needs h.264 video")
	// ErrNoMedia: the stream produced no usable track in time.
	ErrNoMedia = errors.New("stream has no h.264 or aac track yet")
	// ErrClosed is returned for requests after Close.
	ErrClosed = errors.New("flv handler closed")
	// errNilPass: a Gate admitted without a Pass (a bug in the Gate);
	// answered like a failing Gate, never as open.
	errNilPass = errors.New("gate returned no pass")
	// errStalled drops a viewer that made no write progress.
	errStalled = errors.New("viewer stalled")
)

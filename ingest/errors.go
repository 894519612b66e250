package ingest

import "errors"

var (
	// ErrServerClosed is returned by Serve after Close.
	ErrServerClosed = errors.New("ingest server closed")
	// ErrUnknownKey is what a KeyResolver returns (wrapped) for a stream key
	// that belongs to no gig, or one that was rotated.
	ErrUnknownKey = errors.New("unknown stream key")
	// ErrBadApp is returned for an RTMP connect to an application other
	// than "live".
	ErrBadApp = errors.New("unknown rtmp application")
	// ErrUnsupportedCodec closes a publisher that sends a codec other than
	// H.264 video or AAC audio.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrMalformedTag closes a publisher that sends an FLV tag body the
	// server cannot read.
	ErrMalformedTag = errors.New("malformed flv tag")
	// ErrMessageTooLarge closes a publisher whose RTMP message (or unfinished
	// chunk data) exceeds Config.MaxMessageBytes.
	ErrMessageTooLarge = errors.New("rtmp message too large")
	// ErrTooManyConns refuses a connection over Config.MaxConns.
	ErrTooManyConns = errors.New("too many rtmp connections")
)

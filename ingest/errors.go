package ingest

import "errors"

var (
	// ErrServerClosed is returned by Serve after Close.
	ErrServerClosed = errors.New("ingest server closed")
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
	// ErrTooManyConns refuses a connection over Config.MaxConns when every
	// open connection is publishing.
	ErrTooManyConns = errors.New("too many rtmp connections")
	// ErrTooManyConnsPerIP refuses a connection over Config.MaxConnsPerIP.
	ErrTooManyConnsPerIP = errors.New("too many rtmp connections from one address")
	// ErrPublishTimeout closes a connection that has not started publishing
	// Config.PublishTimeout after it was accepted.
	ErrPublishTimeout = errors.New("rtmp connection did not publish in time")
	// ErrPrePublishLimit closes a connection that sent more than
	// Config.PrePublishBytes before starting to publish.
	ErrPrePublishLimit = errors.New("too many bytes before publishing")
	// ErrMalformedChunk closes a connection whose chunk stream or AMF
	// command would make the RTMP library misbehave.
	ErrMalformedChunk = errors.New("malformed rtmp chunk stream")
)

package transcode

import "errors"

var (
	// ErrUnavailable is returned by builds without cgo.
	ErrUnavailable = errors.New("built without cgo: WebRTC viewers of AAC sources get no audio")
	// ErrCodec is returned when a codec cannot be opened or rejects its input.
	ErrCodec = errors.New("audio codec error")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("transcoder closed")
)

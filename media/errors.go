package media

import "errors"

var (
	// ErrAlreadyLive is returned when a gig already has a healthy publisher.
	ErrAlreadyLive = errors.New("gig is already live from another publisher")
	// ErrStreamClosed is returned when writing to a stream that has ended.
	ErrStreamClosed = errors.New("stream closed")
	// ErrMalformed is returned by the codec parsers for input they cannot read.
	ErrMalformed = errors.New("malformed media data")
	// ErrUnsupported is returned for codecs or codec features the server does not carry.
	ErrUnsupported = errors.New("unsupported codec")
)

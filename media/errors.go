package media

import "errors"

var (
	// ErrAlreadyLive is returned when a gig already has a healthy publisher.
	ErrAlreadyLive = errors.New("gig is already live from another publisher")
	// ErrStreamClosed is returned when writing to a stream that has ended.
	ErrStreamClosed = errors.New("stream closed")
	// ErrKicked is (wrapped in) the Err of a stream ended by Registry.Kick:
	// someone other than its publisher ended it.
	ErrKicked = errors.New("stream ended from outside its publisher")
	// ErrMalformed is returned by the codec parsers for input they cannot read.
	ErrMalformed = errors.New("malformed media data")
	// ErrNotLive is returned by a Finder when no node has the gig live.
	ErrNotLive = errors.New("gig is not live")
	// ErrUnsupported is returned for codecs or codec features the server does not carry.
	ErrUnsupported = errors.New("unsupported codec")
)

package chat

import "errors"

// Sentinel errors of the chat package.
var (
	// ErrClosed is returned by a Hub or broker that has been closed.
	ErrClosed = errors.New("chat: closed")
	// ErrTooManyConns means the per-IP connection cap of this node is reached.
	ErrTooManyConns = errors.New("chat: too many connections from this address")
	// ErrInvalidConfig wraps every configuration error.
	ErrInvalidConfig = errors.New("chat: invalid config")
	// ErrInvalidArgument is returned for bad ids or durations given to moderation methods.
	ErrInvalidArgument = errors.New("chat: invalid argument")
	// ErrNoGig means the request carried no gig id.
	ErrNoGig = errors.New("chat: missing gig id")
)

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
	// ErrRelayFull means a broker write was dropped because the relay
	// queue was full (the broker has been unreachable for long).
	ErrRelayFull = errors.New("chat: relay queue full")
	// ErrRelayTimeout means a broker write waited longer than
	// Config.RelayRetry while the broker was failing.
	ErrRelayTimeout = errors.New("chat: broker write not done in time")
)

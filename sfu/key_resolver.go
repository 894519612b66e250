package sfu

import "context"

// KeyResolver maps a WHIP publisher's stream key to its gig. cmd adapts the
// gig store to it.
type KeyResolver interface {
	// ResolveStreamKey returns the gig whose secret stream key is key, or
	// an error wrapping ErrUnknownKey. The key must never be logged.
	ResolveStreamKey(ctx context.Context, key string) (gigID string, err error)
}

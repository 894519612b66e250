package access

import (
	"context"
	"errors"
)

// ErrUnknownKey is what a KeyResolver returns (or wraps) for a stream key
// that belongs to no gig, or one that was rotated: RTMP ingest refuses the
// publish, WHIP answers 401.
var ErrUnknownKey = errors.New("unknown stream key")

// KeyResolver is who may publish: it maps a publisher's secret stream key
// (RTMP publishing name, WHIP bearer token) to the gig it publishes. The
// gig store implements it; ingest and sfu ask it.
type KeyResolver interface {
	// ResolveStreamKey returns the gig whose stream key is key, or an error
	// wrapping ErrUnknownKey. Neither the key nor an error it returns may
	// carry the key into a log.
	ResolveStreamKey(ctx context.Context, key string) (gigID string, err error)
}

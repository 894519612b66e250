package store

import (
	"context"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// Reader reads gigs.
type Reader interface {
	// Get returns one gig, or ErrNotFound.
	Get(ctx context.Context, id string) (Gig, error)
	// List returns one page of gigs matching f: live first, then by start
	// time, then by id.
	List(ctx context.Context, f Filter) (Page, error)
}

// Writer creates, changes and removes gigs.
type Writer interface {
	// Create validates in, stores a new scheduled gig and returns it with its
	// secrets. The secrets are never returned again.
	Create(ctx context.Context, in GigInput) (Gig, Secrets, error)
	// Update applies p and re-validates the whole gig.
	Update(ctx context.Context, id string, p Patch) (Gig, error)
	// Delete removes a gig and its stream key. A live gig cannot be deleted
	// (ErrConflict): end the show first.
	Delete(ctx context.Context, id string) error
}

// Credentials manages a gig's secrets.
type Credentials interface {
	// RotateStreamKey replaces the stream key; the old one stops working.
	RotateStreamKey(ctx context.Context, id string) (string, error)
	// CheckManageToken returns nil if token is the gig's manage token,
	// ErrUnauthorized if token is empty, ErrForbidden if it is wrong, and
	// ErrNotFound if there is no such gig.
	CheckManageToken(ctx context.Context, id, token string) error
}

// StatusSetter records live-show transitions (called by media wiring).
type StatusSetter interface {
	// SetStatus moves a gig to status at time at: live sets started_at (and
	// clears ended_at), ended sets ended_at. Setting the current status again
	// is a no-op; going back to scheduled from live or ended is ErrConflict.
	SetStatus(ctx context.Context, id string, status Status, at time.Time) error
}

// Store is everything an engine offers; users should depend on the role
// interfaces above that they actually need.
type Store interface {
	Reader
	Writer
	Credentials
	// KeyResolver finds the gig a stream key publishes to (ingest, WHIP),
	// or access.ErrUnknownKey.
	access.KeyResolver
	StatusSetter
	// Ping reports whether the engine is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
	// Close releases the engine's resources. It is idempotent.
	Close() error
}

// transition checks a status change and applies its timestamps to g. It
// reports changed=false when g already has the status.
func transition(g *Gig, to Status, at time.Time) (changed bool, err error) {
	if !to.Valid() {
		return false, invalid("status", "must be one of scheduled, live, ended")
	}
	if g.Status == to {
		return false, nil
	}
	at = at.UTC()
	switch to {
	case StatusLive:
		g.StartedAt, g.EndedAt = at, time.Time{}
	case StatusEnded:
		g.EndedAt = at
	case StatusScheduled:
		return false, ErrConflict
	}
	g.Status = to
	g.UpdatedAt = at
	return true, nil
}

package store

import "errors"

var (
	// ErrNotFound means no gig has the given id.
	ErrNotFound = errors.New("gig not found")
	// ErrConflict means the change clashes with the gig's state (deleting a
	// live gig, an impossible status change) or with a concurrent writer.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the storage engine cannot be reached right now. The
	// store recovers by itself when the engine is back.
	ErrUnavailable = errors.New("store unavailable")
	// ErrUnauthorized means no manage token was presented.
	ErrUnauthorized = errors.New("manage token required")
	// ErrForbidden means the presented manage token does not belong to the gig.
	ErrForbidden = errors.New("manage token does not match")
	// ErrInvalidToken is the same error as ErrForbidden, under the name other
	// packages may look for: a token was given and it is wrong.
	ErrInvalidToken = ErrForbidden

	// errCorrupt means a stored gig does not parse: someone else wrote to our
	// keys. It is an internal error, not an outage.
	errCorrupt = errors.New("corrupt gig hash")
	// errNotReplicated means a write reached the master but not the
	// replicas the URL asks for in time; callers see ErrUnavailable.
	errNotReplicated = errors.New("write not replicated")
)

// ValidationError says which input field is wrong and why. Field uses the
// JSON name of the field ("title", "starts_at", "limit").
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	return "invalid " + e.Field + ": " + e.Message
}

func invalid(field, msg string) *ValidationError {
	return &ValidationError{Field: field, Message: msg}
}

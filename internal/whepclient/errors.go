package whepclient

import (
	"errors"
	"fmt"
)

// ErrRefused is what a RefusedError is: the server answered the offer with
// another status than 201 Created.
var ErrRefused = errors.New("whep offer refused")

// RefusedError is a POST answered with another status than 201 Created: an
// error body, or a redirect to another node.
type RefusedError struct {
	// Status is the response's status code.
	Status int
	// Body is the response body (the JSON error), cut at 64 KiB.
	Body string
	// Location is the response's Location header (a redirect's target).
	Location string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%v: %d %s", ErrRefused, e.Status, e.Body)
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Refusal is err's RefusedError, if it is one.
func Refusal(err error) (*RefusedError, bool) {
	var r *RefusedError
	ok := errors.As(err, &r)
	return r, ok
}

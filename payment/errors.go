package payment

import "errors"

var (
	// ErrNotConfigured means no payment provider is set up: paid booking
	// is unavailable (503) while free and comp tickets still work.
	ErrNotConfigured = errors.New("payments are not configured")
	// ErrBadSignature means a webhook's signature header is absent,
	// malformed, made with another secret, for another body or too old
	// (a replay).
	ErrBadSignature = errors.New("invalid webhook signature")
	// ErrBadEvent means a correctly signed webhook body is not a provider
	// event.
	ErrBadEvent = errors.New("malformed webhook event")
	// ErrInvalidRequest means the caller passed a request the provider
	// cannot take (no amount, no booking, bad currency...): a bug in the
	// caller, not in the buyer's input.
	ErrInvalidRequest = errors.New("invalid payment request")
	// ErrProvider wraps a failure of the provider's API or of reaching it.
	ErrProvider = errors.New("payment provider error")
)

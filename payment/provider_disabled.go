package payment

import "context"

// Disabled is the Provider when payments are not configured: every method
// answers ErrNotConfigured.
type Disabled struct{}

var _ Provider = Disabled{}

// Checkout answers ErrNotConfigured.
func (Disabled) Checkout(context.Context, CheckoutRequest) (Checkout, error) {
	return Checkout{}, ErrNotConfigured
}

// ParseWebhook answers ErrNotConfigured.
func (Disabled) ParseWebhook([]byte, string) (Event, error) {
	return Event{}, ErrNotConfigured
}

// Refund answers ErrNotConfigured.
func (Disabled) Refund(context.Context, string, int64) error {
	return ErrNotConfigured
}

// Package payment takes money for paid tickets through a checkout provider
// and reads the provider's signed webhooks that confirm (or not) a payment.
// Stripe Checkout is the one real provider; Disabled stands in when no
// provider is configured, so paid booking can answer "payments unavailable"
// while free and comp tickets keep working.
package payment

import (
	"context"
)

// Provider is a hosted checkout: it creates a payment page for a booking,
// reports completed payments through signed webhooks and refunds them.
type Provider interface {
	// Checkout creates a hosted payment page for one booking.
	Checkout(ctx context.Context, req CheckoutRequest) (Checkout, error)
	// ParseWebhook verifies a webhook delivery's signature and decodes it.
	// A bad or absent signature is ErrBadSignature; event types the
	// booking flow does not use come back with Completed nil.
	ParseWebhook(payload []byte, signature string) (Event, error)
	// Refund returns amountMinor of a payment (0 = all of it).
	Refund(ctx context.Context, paymentRef string, amountMinor int64) error
}

// CheckoutRequest describes what one booking pays for.
type CheckoutRequest struct {
	GigID     string
	BookingID string
	// Title names the line item on the payment page (the gig's title).
	Title string
	// AmountMinor is the price in the currency's minor unit (cents).
	AmountMinor int64
	// Currency is an ISO 4217 code, any case ("USD").
	Currency string
	// Email prefills the payment page; optional.
	Email      string
	SuccessURL string
	CancelURL  string
}

// Checkout is a created payment page: the buyer is redirected to URL.
type Checkout struct {
	ID  string
	URL string
}

// Event is one verified webhook delivery.
type Event struct {
	ID   string
	Type string
	// Completed is set for a finished checkout of one of our bookings
	// (checkout.session.completed, checkout.session.async_payment_succeeded)
	// and nil for every other event, which the caller acknowledges and
	// ignores.
	Completed *Completed
}

// Completed is a finished checkout. Only Paid ones may issue a ticket: a
// delayed payment method completes the checkout unpaid and pays later
// (checkout.session.async_payment_succeeded, which comes with Paid true).
type Completed struct {
	GigID     string
	BookingID string
	// PaymentRef identifies the payment for Refund (a PaymentIntent id).
	PaymentRef  string
	AmountMinor int64
	// Currency is the upper-case ISO 4217 code ("USD").
	Currency string
	Paid     bool
}

// Enabled reports whether p can take payments: false for nil, Disabled and
// a nil *Stripe.
func Enabled(p Provider) bool {
	switch v := p.(type) {
	case nil, Disabled, *Disabled:
		return false
	case *Stripe:
		return v != nil
	}
	return true
}

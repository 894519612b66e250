package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// Event types that finish a checkout.
const (
	eventCheckoutCompleted     = "checkout.session.completed"
	eventAsyncPaymentSucceeded = "checkout.session.async_payment_succeeded"
)

// ParseWebhook verifies the Stripe-Signature header with the webhook
// secret (stripe-go's webhook package, default 5-minute tolerance, so a
// replay of an old delivery fails) and decodes the event. Events of an API
// version other than stripe-go's are accepted: the fields read here are
// stable across versions.
func (s *Stripe) ParseWebhook(payload []byte, signature string) (Event, error) {
	if s == nil {
		return Event{}, ErrNotConfigured
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.webhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		if isSignatureError(err) {
			return Event{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return Event{}, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if ev.ID == "" || ev.Type == "" {
		return Event{}, fmt.Errorf("%w: no id or type", ErrBadEvent)
	}
	out := Event{ID: ev.ID, Type: string(ev.Type)}
	if out.Type != eventCheckoutCompleted && out.Type != eventAsyncPaymentSucceeded {
		return out, nil
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return Event{}, fmt.Errorf("%w: %s %s without data.object", ErrBadEvent, out.Type, out.ID)
	}
	var sess stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &sess); err != nil {
		return Event{}, fmt.Errorf("%w: %s %s: %v", ErrBadEvent, out.Type, out.ID, err)
	}
	c := completed(&sess)
	if c.GigID == "" || c.BookingID == "" {
		// Another integration on the same Stripe account: not ours.
		s.log.Info("checkout without booking metadata ignored", "event", out.ID, "session", sess.ID)
		return out, nil
	}
	out.Completed = c
	return out, nil
}

func completed(sess *stripe.CheckoutSession) *Completed {
	c := &Completed{
		GigID:       sess.Metadata[metaGigID],
		BookingID:   sess.Metadata[metaBookingID],
		AmountMinor: sess.AmountTotal,
		Currency:    strings.ToUpper(string(sess.Currency)),
		Paid:        sess.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid,
	}
	if c.BookingID == "" {
		c.BookingID = sess.ClientReferenceID
	}
	if sess.PaymentIntent != nil {
		c.PaymentRef = sess.PaymentIntent.ID
	}
	return c
}

func isSignatureError(err error) bool {
	for _, e := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

package payment

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// SignWebhook returns the Stripe-Signature header Stripe would send with
// payload at time t: "t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<payload>">".
// End-to-end tests use it to deliver webhooks as Stripe does.
func SignWebhook(payload []byte, secret string, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(webhook.ComputeSignature(t, payload, secret)))
}

// CompletedEventJSON returns a checkout.session.completed event as Stripe
// delivers it for a session created by Checkout, for tests. Its session id
// is derived from the booking id, and payment_status is "paid" when c.Paid.
func CompletedEventJSON(eventID string, c Completed) []byte {
	status := "unpaid"
	if c.Paid {
		status = "paid"
	}
	var pi any // null until a payment exists, as in Stripe's payloads
	if c.PaymentRef != "" {
		pi = c.PaymentRef
	}
	now := time.Now().Unix()
	sess := map[string]any{
		"id":                   "cs_test_" + c.BookingID,
		"object":               "checkout.session",
		"amount_subtotal":      c.AmountMinor,
		"amount_total":         c.AmountMinor,
		"client_reference_id":  c.BookingID,
		"created":              now - 60,
		"currency":             strings.ToLower(c.Currency),
		"customer":             nil,
		"customer_details":     map[string]any{"email": "buyer@example.com", "name": "Buyer"},
		"expires_at":           now + 86400,
		"livemode":             false,
		"metadata":             map[string]string{metaGigID: c.GigID, metaBookingID: c.BookingID},
		"mode":                 "payment",
		"payment_intent":       pi,
		"payment_method_types": []string{"card"},
		"payment_status":       status,
		"status":               "complete",
		"success_url":          "https://example.com/gig/" + c.GigID + "?booking=" + c.BookingID,
		"cancel_url":           "https://example.com/gig/" + c.GigID,
		"url":                  nil,
	}
	ev := map[string]any{
		"id":               eventID,
		"object":           "event",
		"api_version":      stripe.APIVersion,
		"created":          now,
		"data":             map[string]any{"object": sess},
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             eventCheckoutCompleted,
	}
	b, _ := json.Marshal(ev) // strings, numbers and nils only: cannot fail
	return b
}

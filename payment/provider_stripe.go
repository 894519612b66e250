package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Metadata keys carried on the Checkout Session (and its PaymentIntent) so
// the webhook names the booking it pays for.
const (
	metaGigID     = "gig_id"
	metaBookingID = "booking_id"
)

// Stripe is the Stripe Checkout provider. It owns its own stripe-go client
// (no package-level key) and is safe for concurrent use.
type Stripe struct {
	client        *stripe.Client
	key           string
	webhookSecret string
	log           *slog.Logger
}

var _ Provider = (*Stripe)(nil)

// NewStripe validates cfg and builds the provider. Missing secrets are
// ErrNotConfigured.
func NewStripe(cfg StripeConfig, log *slog.Logger) (*Stripe, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "payment", "provider", "stripe")
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:    hc,
		LeveledLogger: leveledLogger{log: log, key: cfg.SecretKey},
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	s := &Stripe{
		client:        stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc))),
		key:           cfg.SecretKey,
		webhookSecret: cfg.WebhookSecret,
		log:           log,
	}
	return s, nil
}

// String, GoString and LogValue keep every way of printing the provider
// from printing its secrets.
func (s *Stripe) String() string { return "payment.Stripe" }

// GoString implements fmt.GoStringer (%#v) without the secrets.
func (s *Stripe) GoString() string { return "&payment.Stripe{}" }

// LogValue implements slog.LogValuer without the secrets.
func (s *Stripe) LogValue() slog.Value { return slog.StringValue("stripe") }

// Checkout creates a one-item Checkout Session in payment mode. The
// booking id is the session's client_reference_id and, with the gig id,
// its metadata and its PaymentIntent's, so the webhook and the Stripe
// dashboard both name the booking. It is idempotent per booking.
func (s *Stripe) Checkout(ctx context.Context, req CheckoutRequest) (Checkout, error) {
	if s == nil {
		return Checkout{}, ErrNotConfigured
	}
	if err := req.validate(); err != nil {
		return Checkout{}, err
	}
	title := req.Title
	if strings.TrimSpace(title) == "" {
		title = "Ticket"
	}
	meta := map[string]string{metaGigID: req.GigID, metaBookingID: req.BookingID}
	p := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(req.BookingID),
		SuccessURL:        stripe.String(req.SuccessURL),
		CancelURL:         stripe.String(req.CancelURL),
		Metadata:          meta,
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{Metadata: meta},
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(req.Currency)),
				UnitAmount:  stripe.Int64(req.AmountMinor),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(title)},
			},
		}},
	}
	if req.Email != "" {
		p.CustomerEmail = stripe.String(req.Email)
	}
	// A retried booking request must not open a second session.
	p.SetIdempotencyKey("bmg-checkout-" + req.BookingID)
	sess, err := s.client.V1CheckoutSessions.Create(ctx, p)
	if err != nil {
		return Checkout{}, s.apiError(ctx, "create checkout session", err)
	}
	if sess.ID == "" || sess.URL == "" {
		return Checkout{}, fmt.Errorf("create checkout session: %w: response without id or url", ErrProvider)
	}
	s.log.Info("checkout session created", "gig", req.GigID, "booking", req.BookingID, "session", sess.ID)
	return Checkout{ID: sess.ID, URL: sess.URL}, nil
}

// Refund refunds amountMinor of the PaymentIntent paymentRef, or all of it
// when amountMinor is 0. A payment already refunded counts as done.
func (s *Stripe) Refund(ctx context.Context, paymentRef string, amountMinor int64) error {
	if s == nil {
		return ErrNotConfigured
	}
	if paymentRef == "" || amountMinor < 0 {
		return fmt.Errorf("refund %q of %d: %w", paymentRef, amountMinor, ErrInvalidRequest)
	}
	p := &stripe.RefundCreateParams{PaymentIntent: stripe.String(paymentRef)}
	if amountMinor > 0 {
		p.Amount = stripe.Int64(amountMinor)
	}
	// Two clicks on "refund" must not refund twice.
	p.SetIdempotencyKey(fmt.Sprintf("bmg-refund-%s-%d", paymentRef, amountMinor))
	r, err := s.client.V1Refunds.Create(ctx, p)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Code == stripe.ErrorCodeChargeAlreadyRefunded {
			s.log.Info("payment already refunded", "payment", paymentRef)
			return nil
		}
		return s.apiError(ctx, "refund "+paymentRef, err)
	}
	if r.Status == stripe.RefundStatusFailed || r.Status == stripe.RefundStatusCanceled {
		return fmt.Errorf("refund %s: %w: refund %s is %s", paymentRef, ErrProvider, r.ID, r.Status)
	}
	s.log.Info("payment refunded", "payment", paymentRef, "refund", r.ID, "amount_minor", r.Amount, "status", r.Status)
	return nil
}

// apiError wraps a stripe-go error as ErrProvider with Stripe's status,
// type, code and message, scrubbing the key should any text carry it.
func (s *Stripe) apiError(ctx context.Context, op string, err error) error {
	msg := err.Error()
	var se *stripe.Error
	if errors.As(err, &se) {
		msg = fmt.Sprintf("status %d", se.HTTPStatusCode)
		for _, part := range []string{string(se.Type), string(se.Code), se.Msg} {
			if part != "" {
				msg += " " + part
			}
		}
	}
	msg = strings.ReplaceAll(msg, s.key, redacted)
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w: %w", op, ErrProvider, cerr)
	}
	return fmt.Errorf("%s: %w: %s", op, ErrProvider, msg)
}

func (r CheckoutRequest) validate() error {
	var bad string
	switch {
	case r.GigID == "":
		bad = "no gig id"
	case r.BookingID == "":
		bad = "no booking id"
	case r.AmountMinor <= 0:
		bad = "amount must be positive"
	case len(r.Currency) != 3:
		bad = "currency must be a 3-letter ISO 4217 code"
	case r.SuccessURL == "" || r.CancelURL == "":
		bad = "success and cancel URLs are required"
	default:
		return nil
	}
	return fmt.Errorf("checkout for booking %q: %w: %s", r.BookingID, ErrInvalidRequest, bad)
}

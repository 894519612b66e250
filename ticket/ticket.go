// Package ticket books gigs: tickets with capacity that holds under
// concurrency on every engine, ticket tokens stored only as hashes, pending
// paid bookings confirmed by the payment provider, and the Gate that media
// and chat handlers ask (one screen per ticket, revocation on every node).
package ticket

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Status is where a ticket is in its life.
type Status string

// Ticket statuses. Only valid tickets admit; revoked and refunded ones free
// their seat.
const (
	StatusValid    Status = "valid"
	StatusRevoked  Status = "revoked"
	StatusRefunded Status = "refunded"
)

// Kind is how a ticket came to be.
type Kind string

// Ticket kinds.
const (
	KindFree Kind = "free" // booked on a ticketed gig with price 0
	KindPaid Kind = "paid" // confirmed by the payment provider
	KindComp Kind = "comp" // issued by the creator, at any price, without payment
)

// TokenPrefix starts every ticket token, so people and secret scanners can
// tell it apart from stream keys (sk_) and manage tokens (mt_).
const TokenPrefix = "tk_"

// Limits on the holder's fields, in Unicode code points.
const (
	MaxNameLen  = 80
	MaxEmailLen = 254
)

// Ticket is one seat at a gig as the creator sees it. It never carries the
// token (only its hash is stored) nor the provider's payment reference.
type Ticket struct {
	ID        string    `json:"id"`
	GigID     string    `json:"gig_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Status    Status    `json:"status"`
	Kind      Kind      `json:"kind"`
	PaidMinor int64     `json:"paid_minor"`
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
	// EndedAt is when it was revoked or refunded.
	EndedAt time.Time `json:"ended_at,omitzero"`
	// PaymentRef is the provider's payment reference (for refunds); never
	// sent to clients.
	PaymentRef string `json:"-"`
}

// Holder is who a ticket is for, as the buyer types it.
type Holder struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Issue describes a ticket to create now (free and comp tickets).
type Issue struct {
	GigID string
	// Capacity is the gig's seat count; 0 means unlimited.
	Capacity  int
	Holder    Holder
	Kind      Kind
	PaidMinor int64
	Currency  string
}

// Booking is a paid booking waiting for the provider's confirmation. Its
// token is handed to the buyer at once and admits only after Confirm.
type Booking struct {
	ID          string    `json:"id"`
	GigID       string    `json:"gig_id"`
	Holder      Holder    `json:"holder"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
}

// Counts is a gig's seat and money counters: Sold is its valid tickets of
// every kind; RevenueMinor is money actually taken, the PaidMinor of its
// valid paid tickets (comp tickets record a price nobody was charged, free
// ones are 0; revoked and refunded tickets count for nothing).
type Counts struct {
	Sold         int   `json:"sold"`
	RevenueMinor int64 `json:"revenue_minor"`
}

// Store keeps tickets. MemoryStore and RedisStore implement it and pass one
// shared contract suite.
type Store interface {
	// Issue creates a valid ticket if a seat is free and returns it with its
	// token (shown once). ErrSoldOut when the gig is full.
	Issue(ctx context.Context, in Issue) (Ticket, string, error)
	// Reserve records a pending paid booking and returns it with the token
	// the ticket will have; the token admits nobody until Confirm.
	Reserve(ctx context.Context, gigID string, h Holder, amountMinor int64, currency string) (Booking, string, error)
	// Confirm turns a booking into a paid ticket (its id is the booking's),
	// atomically and idempotently:
	//   - a seat is free: (valid ticket, created=true, nil);
	//   - no seat is left: the booking becomes a paid ticket with status
	//     refunded (EndedAt now, PaymentRef set, no seat, no revenue) in the
	//     same step, returned as (that ticket, created=true, ErrSoldOut): the
	//     caller refunds the payment. Its token then authenticates as that
	//     refunded ticket, never as pending;
	//   - the booking was confirmed before (a redelivered webhook), whatever
	//     happened since: (the ticket as it is now, created=false, nil), so a
	//     refunded or revoked ticket stays so even if seats have freed up. A
	//     caller that sees StatusRefunded here may refund again (idempotent
	//     at the provider) in case the first refund failed;
	//   - ErrNotFound for an unknown booking (or one of a deleted gig).
	// Callers that ignore the ticket on error keep working.
	Confirm(ctx context.Context, gigID, bookingID string, capacity int, paymentRef string) (t Ticket, created bool, err error)
	// Authenticate returns the ticket a token belongs to on gigID:
	// ErrInvalidToken for unknown tokens and other gigs' tickets;
	// ErrPending while a booking's payment is not confirmed; a revoked or
	// refunded ticket (a sold-out Confirm included) comes back with its
	// status (the caller decides).
	Authenticate(ctx context.Context, gigID, token string) (Ticket, error)
	// Get returns one ticket, or ErrNotFound.
	Get(ctx context.Context, gigID, ticketID string) (Ticket, error)
	// List returns a gig's tickets of every status, oldest first (the
	// refunded tickets of sold-out Confirms included; pending bookings not).
	List(ctx context.Context, gigID string) ([]Ticket, error)
	// End moves a valid ticket to revoked or refunded, freeing its seat.
	// Ending an ended ticket is ErrConflict.
	End(ctx context.Context, gigID, ticketID string, to Status) (Ticket, error)
	// Counts returns the gig's counters (see Counts) without reading its
	// tickets: O(1), for browse pages.
	Counts(ctx context.Context, gigID string) (Counts, error)
	// DeleteGig removes every ticket and booking of a gig.
	DeleteGig(ctx context.Context, gigID string) error
}

// Errors of the package.
var (
	ErrSoldOut      = errors.New("ticket: sold out")
	ErrNotFound     = errors.New("ticket: not found")
	ErrInvalidToken = errors.New("ticket: invalid token")
	ErrPending      = errors.New("ticket: payment not confirmed yet")
	ErrConflict     = errors.New("ticket: ticket already ended")
	ErrUnavailable  = errors.New("ticket: store unavailable")
)

// LogValue keeps a ticket's personal data out of logs: id and status only.
func (t Ticket) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", t.ID), slog.String("status", string(t.Status)))
}

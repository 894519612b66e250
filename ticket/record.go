package ticket

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/internal/secret"
)

// record is a ticket as both engines keep it: the immutable part. Status
// and EndedAt live apart (see state) so that ending a ticket rewrites a few
// bytes, never the holder's data.
type record struct {
	ID         string    `json:"id"`
	GigID      string    `json:"gig_id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Kind       Kind      `json:"kind"`
	PaidMinor  int64     `json:"paid_minor"`
	Currency   string    `json:"currency"`
	CreatedAt  time.Time `json:"created_at"`
	PaymentRef string    `json:"payment_ref,omitempty"`
	TokenHash  string    `json:"token_hash"`
}

// bookingRecord is a pending paid booking.
type bookingRecord struct {
	ID          string    `json:"id"`
	GigID       string    `json:"gig_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
	TokenHash   string    `json:"token_hash"`
}

func (b bookingRecord) booking() Booking {
	return Booking{ID: b.ID, GigID: b.GigID, Holder: Holder{Name: b.Name, Email: b.Email},
		AmountMinor: b.AmountMinor, Currency: b.Currency, CreatedAt: b.CreatedAt}
}

// paidRecord is the ticket a confirmed booking becomes; its id is the
// booking's, which makes confirmation idempotent.
func (b bookingRecord) paidRecord(now time.Time, paymentRef string) record {
	return record{ID: b.ID, GigID: b.GigID, Name: b.Name, Email: b.Email, Kind: KindPaid,
		PaidMinor: b.AmountMinor, Currency: b.Currency, CreatedAt: now, PaymentRef: paymentRef, TokenHash: b.TokenHash}
}

func (r record) ticket(st state) Ticket {
	return Ticket{ID: r.ID, GigID: r.GigID, Name: r.Name, Email: r.Email, Status: st.status, Kind: r.Kind,
		PaidMinor: r.PaidMinor, Currency: r.Currency, CreatedAt: r.CreatedAt, EndedAt: st.endedAt, PaymentRef: r.PaymentRef}
}

// state is a ticket's mutable part, encoded as "valid" or
// "<status> <unix nanoseconds>" so that a Redis script can compare it with
// "valid" without parsing anything.
type state struct {
	status  Status
	endedAt time.Time
}

const stateValid = string(StatusValid)

func (s state) encode() string {
	if s.status == StatusValid {
		return stateValid
	}
	return string(s.status) + " " + strconv.FormatInt(s.endedAt.UnixNano(), 10)
}

func decodeState(v string) (state, error) {
	if v == stateValid {
		return state{status: StatusValid}, nil
	}
	st, ns, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || (Status(st) != StatusRevoked && Status(st) != StatusRefunded) {
		return state{}, fmt.Errorf("ticket: corrupt state %q", v)
	}
	return state{status: Status(st), endedAt: time.Unix(0, n).UTC()}, nil
}

// normalize checks an Issue before any engine stores it.
func (in Issue) normalize() (Issue, error) {
	if !validGigID(in.GigID) {
		return Issue{}, ErrNotFound
	}
	h, err := ValidateHolder(in.Holder)
	if err != nil {
		return Issue{}, err
	}
	in.Holder = h
	switch in.Kind {
	case KindFree, KindPaid, KindComp:
	default:
		return Issue{}, fieldErr("kind", "must be free, paid or comp")
	}
	if in.Capacity < 0 {
		return Issue{}, fieldErr("capacity", "must not be negative")
	}
	if in.PaidMinor < 0 {
		return Issue{}, fieldErr("price_minor", "must not be negative")
	}
	if in.Currency, err = normalizeCurrency(in.Currency); err != nil {
		return Issue{}, err
	}
	return in, nil
}

func normalizeCurrency(c string) (string, error) {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) > 8 || strings.IndexFunc(c, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return "", fieldErr("currency", "must be a currency code like USD")
	}
	return c, nil
}

// checkEnd validates the target of End.
func checkEnd(gigID, ticketID string, to Status) error {
	if to != StatusRevoked && to != StatusRefunded {
		return fieldErr("status", "must be revoked or refunded")
	}
	if !validGigID(gigID) || !secret.ValidID(ticketID) {
		return ErrNotFound
	}
	return nil
}

// sortTickets orders oldest first, ties by id, identically on both engines.
func sortTickets(ts []Ticket) {
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].ID < ts[j].ID
	})
}

// revenue is what a valid ticket adds to the gig's revenue: money actually
// taken, so paid tickets only (a comp ticket records a price nobody was
// charged). The Redis scripts apply the same rule (revenueLua).
func (r record) revenue() int64 {
	if r.Kind == KindPaid {
		return r.PaidMinor
	}
	return 0
}

// endedState is st as stored: both engines keep nanoseconds since the
// epoch, so round-tripping through the encoding gives them the same
// precision.
func endedState(to Status, at time.Time) state {
	st, _ := decodeState(state{status: to, endedAt: at}.encode())
	return st
}

package ticket

import (
	"context"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/secret"
)

var _ Store = (*MemoryStore)(nil)

// MemoryStore keeps tickets in process, for a single node. One mutex guards
// everything, so capacity checks and writes are one step.
type MemoryStore struct {
	mu     sync.Mutex
	gigs   map[string]*memGig
	tokens map[string]tokenRef // token hash -> owner
	now    func() time.Time
}

type memGig struct {
	tickets  map[string]*memTicket
	bookings map[string]bookingRecord
	sold     int   // valid tickets
	revenue  int64 // PaidMinor of valid paid tickets (record.revenue)
}

type memTicket struct {
	rec record
	st  state
}

type tokenRef struct{ gigID, id string }

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{gigs: make(map[string]*memGig), tokens: make(map[string]tokenRef), now: time.Now}
}

func (s *MemoryStore) gig(id string) *memGig {
	g := s.gigs[id]
	if g == nil {
		g = &memGig{tickets: make(map[string]*memTicket), bookings: make(map[string]bookingRecord)}
		s.gigs[id] = g
	}
	return g
}

// Issue implements Store.
func (s *MemoryStore) Issue(ctx context.Context, in Issue) (Ticket, string, error) {
	in, err := in.normalize()
	if err != nil {
		return Ticket{}, "", err
	}
	tok := secret.New(TokenPrefix)
	rec := record{ID: secret.NewID(), GigID: in.GigID, Name: in.Holder.Name, Email: in.Holder.Email, Kind: in.Kind,
		PaidMinor: in.PaidMinor, Currency: in.Currency, CreatedAt: s.now().UTC(), TokenHash: secret.Hash(tok)}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gig(in.GigID)
	if in.Capacity > 0 && g.sold >= in.Capacity {
		return Ticket{}, "", ErrSoldOut
	}
	t := &memTicket{rec: rec, st: state{status: StatusValid}}
	g.tickets[rec.ID] = t
	g.sold++
	g.revenue += rec.revenue()
	s.tokens[rec.TokenHash] = tokenRef{in.GigID, rec.ID}
	return rec.ticket(t.st), tok, nil
}

// Reserve implements Store.
func (s *MemoryStore) Reserve(ctx context.Context, gigID string, h Holder, amountMinor int64, currency string) (Booking, string, error) {
	b, tok, err := newBooking(gigID, h, amountMinor, currency, s.now())
	if err != nil {
		return Booking{}, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gig(gigID).bookings[b.ID] = b
	s.tokens[b.TokenHash] = tokenRef{gigID, b.ID}
	return b.booking(), tok, nil
}

// newBooking validates a reservation and makes its record and token; both
// engines use it.
func newBooking(gigID string, h Holder, amountMinor int64, currency string, now time.Time) (bookingRecord, string, error) {
	if !validGigID(gigID) {
		return bookingRecord{}, "", ErrNotFound
	}
	h, err := ValidateHolder(h)
	if err != nil {
		return bookingRecord{}, "", err
	}
	if amountMinor <= 0 {
		return bookingRecord{}, "", fieldErr("amount_minor", "must be positive")
	}
	if currency, err = normalizeCurrency(currency); err != nil {
		return bookingRecord{}, "", err
	}
	tok := secret.New(TokenPrefix)
	return bookingRecord{ID: secret.NewID(), GigID: gigID, Name: h.Name, Email: h.Email, AmountMinor: amountMinor,
		Currency: currency, CreatedAt: now.UTC(), TokenHash: secret.Hash(tok)}, tok, nil
}

// Confirm implements Store.
func (s *MemoryStore) Confirm(ctx context.Context, gigID, bookingID string, capacity int, paymentRef string) (Ticket, bool, error) {
	if !validGigID(gigID) || !secret.ValidID(bookingID) {
		return Ticket{}, false, ErrNotFound
	}
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gigs[gigID]
	if g == nil {
		return Ticket{}, false, ErrNotFound
	}
	if t := g.tickets[bookingID]; t != nil {
		return t.rec.ticket(t.st), false, nil
	}
	b, ok := g.bookings[bookingID]
	if !ok {
		return Ticket{}, false, ErrNotFound
	}
	t := &memTicket{rec: b.paidRecord(now, paymentRef), st: state{status: StatusValid}}
	delete(g.bookings, bookingID)
	g.tickets[bookingID] = t
	if capacity > 0 && g.sold >= capacity {
		// No seat: the payment becomes a refunded ticket (the caller
		// refunds), so the token answers "refunded" and no later delivery
		// can turn it into a seat.
		t.st = endedState(StatusRefunded, now)
		return t.rec.ticket(t.st), true, ErrSoldOut
	}
	g.sold++
	g.revenue += t.rec.revenue()
	return t.rec.ticket(t.st), true, nil
}

// Authenticate implements Store.
func (s *MemoryStore) Authenticate(ctx context.Context, gigID, token string) (Ticket, error) {
	if !plausibleToken(token) {
		return Ticket{}, ErrInvalidToken
	}
	h := secret.Hash(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.tokens[h]
	if !ok || ref.gigID != gigID {
		return Ticket{}, ErrInvalidToken
	}
	g := s.gigs[gigID]
	if g == nil {
		return Ticket{}, ErrInvalidToken
	}
	if t := g.tickets[ref.id]; t != nil {
		return t.rec.ticket(t.st), nil
	}
	if _, ok := g.bookings[ref.id]; ok {
		return Ticket{}, ErrPending
	}
	return Ticket{}, ErrInvalidToken
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, gigID, ticketID string) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gigs[gigID]
	if g == nil {
		return Ticket{}, ErrNotFound
	}
	t := g.tickets[ticketID]
	if t == nil {
		return Ticket{}, ErrNotFound
	}
	return t.rec.ticket(t.st), nil
}

// List implements Store.
func (s *MemoryStore) List(ctx context.Context, gigID string) ([]Ticket, error) {
	s.mu.Lock()
	g := s.gigs[gigID]
	out := []Ticket{}
	if g != nil {
		out = make([]Ticket, 0, len(g.tickets))
		for _, t := range g.tickets {
			out = append(out, t.rec.ticket(t.st))
		}
	}
	s.mu.Unlock()
	sortTickets(out)
	return out, nil
}

// End implements Store.
func (s *MemoryStore) End(ctx context.Context, gigID, ticketID string, to Status) (Ticket, error) {
	if err := checkEnd(gigID, ticketID, to); err != nil {
		return Ticket{}, err
	}
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gigs[gigID]
	if g == nil || g.tickets[ticketID] == nil {
		return Ticket{}, ErrNotFound
	}
	t := g.tickets[ticketID]
	if t.st.status != StatusValid {
		return Ticket{}, ErrConflict
	}
	t.st = endedState(to, now)
	g.sold--
	g.revenue -= t.rec.revenue()
	return t.rec.ticket(t.st), nil
}

// Counts implements Store from the gig's counters.
func (s *MemoryStore) Counts(ctx context.Context, gigID string) (Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gigs[gigID]
	if g == nil {
		return Counts{}, nil
	}
	return Counts{Sold: g.sold, RevenueMinor: g.revenue}, nil
}

// DeleteGig implements Store.
func (s *MemoryStore) DeleteGig(ctx context.Context, gigID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gigs[gigID]
	if g == nil {
		return nil
	}
	for _, t := range g.tickets {
		delete(s.tokens, t.rec.TokenHash)
	}
	for _, b := range g.bookings {
		delete(s.tokens, b.TokenHash)
	}
	delete(s.gigs, gigID)
	return nil
}

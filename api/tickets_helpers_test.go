package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/stripemock"
	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
)

// Test-only Stripe secrets: the secrets test looks for them in the logs.
const (
	testStripeKey     = "sk_test_apiTicketsSecretKey51Hx"
	testWebhookSecret = "whsec_apiTicketsWebhookSecret9Qz"
)

// bookEnv is a testEnv with booking enabled: a ticket store and a gate on
// the same engine as the gigs (memory, or the same redis-server).
type bookEnv struct {
	*testEnv
	tickets ticket.Store
	gate    *ticket.Gate
}

// payFunc builds the payment provider with the router's logger (so its log
// lines land in env.logs); nil leaves Deps.Payments nil.
type payFunc func(t *testing.T, log *slog.Logger) payment.Provider

func disabledPayments(*testing.T, *slog.Logger) payment.Provider { return payment.Disabled{} }

// stripePayments is the real Stripe provider against stripe-mock at base.
func stripePayments(base string) payFunc {
	return func(t *testing.T, log *slog.Logger) payment.Provider {
		t.Helper()
		p, err := payment.NewStripe(payment.StripeConfig{
			SecretKey: testStripeKey, WebhookSecret: testWebhookSecret, APIBase: base,
		}, log)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// startStripeMock starts stripe-mock once for a test and its subtests.
func startStripeMock(t *testing.T) string {
	t.Helper()
	return stripemock.Start(t)
}

func newBookEnv(t *testing.T, e engine, pay payFunc) *bookEnv {
	t.Helper()
	var rs *redistest.Server
	wrapped := engine{name: e.name, new: func(t testing.TB) (store.Store, *redistest.Server) {
		s, srv := e.new(t)
		rs = srv
		return s, srv
	}}
	var (
		tickets ticket.Store
		gate    *ticket.Gate
	)
	env := newEnv(t, wrapped, func(d *Deps) {
		tickets, gate = newTicketing(t, d, rs)
		d.Tickets, d.Gate = tickets, gate
		if pay != nil {
			d.Payments = pay(t, d.Logger)
		}
	})
	return &bookEnv{testEnv: env, tickets: tickets, gate: gate}
}

// newTicketing builds the ticket store, bus and gate the way cmd does.
func newTicketing(t *testing.T, d *Deps, rs *redistest.Server) (ticket.Store, *ticket.Gate) {
	t.Helper()
	var (
		tickets ticket.Store
		bus     ticket.Bus
	)
	if rs == nil {
		mb := ticket.NewMemoryBus()
		tickets, bus = memTickets{ticket.NewMemoryStore(), mb}, mb
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := ticket.NewRedisStore(ctx, ticket.RedisConfig{URL: rs.URL()}, d.Logger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		rb, err := ticket.NewRedisBus(ctx, ticket.RedisBusConfig{Client: st.Client()}, d.Logger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rb.Close() })
		tickets, bus = st, rb
	}
	gate, err := ticket.NewGate(ticket.GateConfig{Gigs: gigLookup{d.Store}, Tickets: tickets, Bus: bus, NodeID: "api-test"}, d.Logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gate.Close)
	return tickets, gate
}

// memTickets drops a deleted gig's screens from the memory bus with its
// tickets, as cmd's memoryTickets does.
type memTickets struct {
	*ticket.MemoryStore
	bus *ticket.MemoryBus
}

func (m memTickets) DeleteGig(ctx context.Context, gigID string) error {
	m.bus.Forget(gigID)
	return m.MemoryStore.DeleteGig(ctx, gigID)
}

// gigLookup adapts the gig store to the gate, as cmd's gigAccess does.
type gigLookup struct{ s GigStore }

var _ ticket.GigLookup = gigLookup{}

func (g gigLookup) Ticketed(ctx context.Context, gigID string) (bool, error) {
	gig, err := g.s.Get(ctx, gigID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, lookupErr(err)
	}
	return gig.Ticketed(), nil
}

func (g gigLookup) CheckManageToken(ctx context.Context, gigID, token string) error {
	return lookupErr(g.s.CheckManageToken(ctx, gigID, token))
}

func lookupErr(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %w", ticket.ErrUnavailable, err)
	}
	return err
}

// gig creates a gig from gigInput with fields replaced (a nil value
// removes the field) and returns it with its credentials.
func (env *bookEnv) gig(fields map[string]any) CreateResponse {
	env.t.Helper()
	r := env.do("POST", "/api/gigs", gigBody(fields))
	wantStatus(env.t, r, http.StatusCreated)
	var cr CreateResponse
	r.json(env.t, &cr)
	return cr
}

func gigBody(fields map[string]any) map[string]any {
	in := gigInput("Booked show", testStart, "Music")
	for k, v := range fields {
		if v == nil {
			delete(in, k)
		} else {
			in[k] = v
		}
	}
	return in
}

// freeGig is a free ticketed gig with capacity seats.
func (env *bookEnv) freeGig(capacity int) CreateResponse {
	env.t.Helper()
	return env.gig(map[string]any{"price_minor": 0, "access": "ticket", "capacity": capacity})
}

// paidGig is a ticketed gig at 2500 EUR with capacity seats.
func (env *bookEnv) paidGig(capacity int) CreateResponse {
	env.t.Helper()
	return env.gig(map[string]any{"capacity": capacity})
}

func holder(name string) map[string]any {
	return map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}
}

// book books a free ticket and returns the response.
func (env *bookEnv) book(gigID, name string) TicketResponse {
	env.t.Helper()
	r := env.do("POST", "/api/gigs/"+gigID+"/tickets", holder(name))
	wantStatus(env.t, r, http.StatusCreated)
	var tr TicketResponse
	r.json(env.t, &tr)
	return tr
}

// list is the creator's ticket list.
func (env *bookEnv) list(g CreateResponse) (TicketListResponse, response) {
	env.t.Helper()
	r := env.do("GET", "/api/gigs/"+g.ID+"/tickets", nil, bearer(g.Credentials.ManageToken)...)
	wantStatus(env.t, r, http.StatusOK)
	var l TicketListResponse
	r.json(env.t, &l)
	return l, r
}

// me is GET tickets/me with a ticket token.
func (env *bookEnv) me(gigID, token string) response {
	env.t.Helper()
	return env.do("GET", "/api/gigs/"+gigID+"/tickets/me", nil, bearer(token)...)
}

// webhook posts a signed Stripe webhook (sig "" signs with the test secret
// now).
func (env *bookEnv) webhook(body []byte, sig string) response {
	env.t.Helper()
	if sig == "" {
		sig = payment.SignWebhook(body, testWebhookSecret, time.Now())
	}
	return env.do("POST", "/api/payments/stripe/webhook", string(body), "Stripe-Signature", sig)
}

// paidEvent is a paid checkout.session.completed for a booking.
func paidEvent(eventID, gigID, bookingID, paymentRef string) []byte {
	return payment.CompletedEventJSON(eventID, payment.Completed{
		GigID: gigID, BookingID: bookingID, PaymentRef: paymentRef,
		AmountMinor: 2500, Currency: "EUR", Paid: true,
	})
}

// webhookResult decodes a webhook's 200 answer.
func webhookResult(t *testing.T, r response) (received, refunded bool) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var out struct {
		Received bool `json:"received"`
		Refunded bool `json:"refunded"`
	}
	r.json(t, &out)
	return out.Received, out.Refunded
}

// myTicket decodes a 200 tickets/me answer.
func myTicket(t *testing.T, r response) MyTicketResponse {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var m MyTicketResponse
	r.json(t, &m)
	return m
}

// wantNoStore checks a response that carries a secret is not cached.
func wantNoStore(t *testing.T, r response) {
	t.Helper()
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", got)
	}
}

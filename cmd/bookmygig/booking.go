package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
)

// openTickets starts the ticket store and the gate's event bus on the same
// engine as the gigs, then the gate itself.
func (a *app) openTickets(ctx context.Context) error {
	if a.cfg.Redis == "" {
		bus := ticket.NewMemoryBus()
		a.tickets = memoryTickets{ticket.NewMemoryStore(), bus}
		a.ticketBus = bus
	} else {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := ticket.NewRedisStore(sctx, ticket.RedisConfig{URL: a.cfg.Redis}, a.log.With("component", "tickets"))
		if err != nil {
			return fmt.Errorf("--redis: tickets: %w", err)
		}
		a.tickets = st
		bus, err := ticket.NewRedisBus(sctx, ticket.RedisBusConfig{Client: st.Client()}, a.log.With("component", "tickets"))
		if err != nil {
			return fmt.Errorf("--redis: ticket events: %w", err)
		}
		a.ticketBus = bus
	}
	gate, err := ticket.NewGate(ticket.GateConfig{
		Gigs: gigAccess{a.store}, Tickets: a.tickets, Bus: a.ticketBus, NodeID: a.cfg.NodeID,
	}, a.log.With("component", "gate"))
	if err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	a.gate = gate
	return nil
}

// closeTickets stops the gate, then the bus and the store under it.
func (a *app) closeTickets() {
	if a.gate != nil {
		a.gate.Close()
	}
	if c, ok := a.ticketBus.(interface{ Close() error }); ok {
		_ = c.Close()
	}
	if c, ok := a.tickets.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// memoryTickets drops a deleted gig's screens from the in-process bus with
// its tickets (on Redis the store's DeleteGig removes both).
type memoryTickets struct {
	*ticket.MemoryStore
	bus *ticket.MemoryBus
}

func (m memoryTickets) DeleteGig(ctx context.Context, gigID string) error {
	m.bus.Forget(gigID)
	return m.MemoryStore.DeleteGig(ctx, gigID)
}

// paymentProvider is Stripe when both Stripe secrets are given, otherwise
// the disabled provider (paid booking answers 503, comp tickets work).
func paymentProvider(cfg Config, log *slog.Logger) (payment.Provider, error) {
	if cfg.StripeSecretKey == "" && cfg.StripeWebhookSecret == "" {
		return payment.Disabled{}, nil
	}
	if cfg.StripeSecretKey == "" || cfg.StripeWebhookSecret == "" {
		return nil, errors.New("--stripe-secret-key and --stripe-webhook-secret go together: set both to take paid bookings, or neither")
	}
	p, err := payment.NewStripe(payment.StripeConfig{
		SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIBase: cfg.StripeAPIBase,
	}, log.With("component", "payments"))
	if err != nil {
		return nil, fmt.Errorf("stripe: %w", err)
	}
	return p, nil
}

// gigAccess adapts the gig store to what the ticket gate asks about gigs.
type gigAccess struct{ s gigStore }

var _ ticket.GigLookup = gigAccess{}

// Ticketed is false for an unknown gig: the media and chat handlers then
// answer their own "not found".
func (g gigAccess) Ticketed(ctx context.Context, gigID string) (bool, error) {
	gig, err := g.s.Get(ctx, gigID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, storeErr(err)
	}
	return gig.Ticketed(), nil
}

func (g gigAccess) CheckManageToken(ctx context.Context, gigID, token string) error {
	return storeErr(g.s.CheckManageToken(ctx, gigID, token))
}

// storeErr marks a gig store outage as the ticket package's, so the gate
// tells "could not check" (503) from "not allowed" (401).
func storeErr(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %w", ticket.ErrUnavailable, err)
	}
	return err
}

// Package access is the one definition of who may watch and chat on a gig,
// and of who may publish to it (KeyResolver).
// Media and chat handlers (sfu, flv, chat) ask a Gate when someone joins; the
// ticket package answers; cmd wires the two. It imports only the standard
// library, so every package may use it without bending the import graph.
package access

import (
	"context"
	"errors"
	"sync"
)

// Kind is what a session does with its admission.
type Kind uint8

const (
	// Media is playback (WHEP, HTTP-FLV, WS-FLV): one screen per ticket, so a
	// newer media admission with the same ticket ends the older one.
	Media Kind = iota + 1
	// Chat is a chat connection: any number per ticket.
	Chat
)

// Request is what a handler knows about someone who asks to join a gig.
type Request struct {
	GigID string
	// Credential is a ticket token or the gig's manage token, as sent
	// (Authorization: Bearer for WHEP, ?ticket= for FLV, "ticket" in the chat
	// join frame); "" when none was sent.
	Credential string
	Kind       Kind
	// Screen optionally names the client's player (?screen= on WHEP and FLV
	// URLs), so that a page can later ask whether it is still the ticket's
	// current screen. The gate makes one up when it is empty.
	Screen string
}

// Gate decides admissions. A nil Gate means every gig is open.
type Gate interface {
	// Admit checks req and returns the session's Pass, which the caller must
	// Release when the session ends. The errors are ErrTicketRequired,
	// ErrInvalidTicket, ErrTicketRevoked, or a wrapped failure of the store
	// (which the caller answers as 503).
	Admit(ctx context.Context, req Request) (*Pass, error)
}

// Errors a Gate returns, and the causes a Pass ends with.
var (
	// ErrTicketRequired: the gig is ticketed and no credential was sent.
	ErrTicketRequired = errors.New("access: this gig needs a ticket")
	// ErrInvalidTicket: the credential is no ticket of this gig (unknown,
	// forged, another gig's, or a payment not confirmed yet).
	ErrInvalidTicket = errors.New("access: invalid ticket")
	// ErrTicketRevoked: the creator revoked or refunded the ticket.
	ErrTicketRevoked = errors.New("access: ticket revoked")
	// ErrWatchingElsewhere ends a media Pass when the same ticket starts
	// playing on another screen.
	ErrWatchingElsewhere = errors.New("access: this ticket is now watching elsewhere")
)

// Denied reports whether err is one of the Gate's refusals (answered 401),
// as opposed to a failure of the store behind it (503).
func Denied(err error) bool {
	return errors.Is(err, ErrTicketRequired) || errors.Is(err, ErrInvalidTicket) ||
		errors.Is(err, ErrTicketRevoked) || errors.Is(err, ErrWatchingElsewhere)
}

// Code is the machine-readable error code clients get for a refusal or an
// ended Pass: "ticket_required", "invalid_ticket", "ticket_revoked",
// "watching_elsewhere"; "" for anything else.
func Code(err error) string {
	switch {
	case errors.Is(err, ErrTicketRequired):
		return "ticket_required"
	case errors.Is(err, ErrInvalidTicket):
		return "invalid_ticket"
	case errors.Is(err, ErrTicketRevoked):
		return "ticket_revoked"
	case errors.Is(err, ErrWatchingElsewhere):
		return "watching_elsewhere"
	}
	return ""
}

// Message is the text a refused client is shown: what went wrong and how to
// book, in one sentence. gigID fills in the booking URL.
func Message(gigID string, err error) string {
	book := "book a ticket with POST /api/gigs/" + gigID + "/tickets (or on the gig's page), then send it as Authorization: Bearer <ticket> (WHEP), ?ticket=<ticket> (FLV) or \"ticket\" in the chat join frame"
	switch {
	case errors.Is(err, ErrTicketRequired):
		return "this gig needs a ticket: " + book
	case errors.Is(err, ErrInvalidTicket):
		return "this ticket is not valid for this gig (unknown, or its payment is not confirmed yet): " + book
	case errors.Is(err, ErrTicketRevoked):
		return "this ticket was revoked by the creator"
	case errors.Is(err, ErrWatchingElsewhere):
		return "this ticket is now watching elsewhere"
	}
	return "access check failed"
}

// Pass is one admitted session. Done is closed when the session must end
// (its ticket was revoked, or it is watching elsewhere); Err says why.
type Pass struct {
	// TicketID is the ticket's id; "" on open gigs and for the creator.
	TicketID string
	// Holder is the name on the ticket; chat uses it as the display name.
	Holder string
	// Creator is true when the credential was the gig's manage token.
	Creator bool
	// Screen is the request's screen, or the one the gate made up.
	Screen string

	ctx       context.Context
	cancel    context.CancelCauseFunc
	release   func()
	closeOnce sync.Once
}

// NewPass is for Gate implementations: release (may be nil) runs once, when
// the session calls Release.
func NewPass(ticketID, holder string, creator bool, screen string, release func()) *Pass {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Pass{TicketID: ticketID, Holder: holder, Creator: creator, Screen: screen, ctx: ctx, cancel: cancel, release: release}
}

// Open is the pass of a gig anyone may watch: it never ends by itself.
func Open() *Pass { return NewPass("", "", false, "", nil) }

// Done is closed when the session must end.
func (p *Pass) Done() <-chan struct{} { return p.ctx.Done() }

// Err is why the pass ended (ErrTicketRevoked, ErrWatchingElsewhere), or nil
// while it holds.
func (p *Pass) Err() error {
	if p.ctx.Err() == nil {
		return nil
	}
	return context.Cause(p.ctx)
}

// Context is cancelled, with Err as its cause, when the session must end.
func (p *Pass) Context() context.Context { return p.ctx }

// End is for Gate implementations: it ends the session with cause.
func (p *Pass) End(cause error) { p.cancel(cause) }

// Release tells the gate the session is over. It is idempotent.
func (p *Pass) Release() {
	p.closeOnce.Do(func() {
		p.cancel(context.Canceled)
		if p.release != nil {
			p.release()
		}
	})
}

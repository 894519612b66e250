package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
	"github.com/gin-gonic/gin"
)

// TicketGate is what the API needs from the node's access gate beyond the
// ticket store: revoking ends the ticket's sessions on every node, and the
// ticket's current screen answers "is this page still the one watching".
type TicketGate interface {
	Revoke(ctx context.Context, gigID, ticketID string, to ticket.Status) (ticket.Ticket, error)
	CurrentScreen(ctx context.Context, gigID, ticketID string) (string, error)
}

// Error codes of the booking routes.
const (
	codeSoldOut        = "sold_out"
	codeNotTicketed    = "not_ticketed"
	codeGigEnded       = "gig_ended"
	codePaymentsOff    = "payments_unavailable"
	codePaymentFailed  = "payment_failed"
	codeInvalidSig     = "invalid_signature"
	codeInvalidTicket  = "invalid_ticket"
	codeTicketRevoked  = "ticket_revoked"
	codeNotPaid        = "not_paid"
	msgPaymentsOff     = "paid booking is not enabled on this server: the operator must start it with --stripe-secret-key and --stripe-webhook-secret"
	msgSoldOut         = "this gig is sold out"
	maxWebhookBodyByte = 1 << 20
	// maxScreenLen bounds the ?screen= a page names itself with.
	maxScreenLen = 64
)

// errTooLarge means a raw body was over its limit (already answered 413).
var errTooLarge = errors.New("body too large")

// BookRequest is the body of POST /api/gigs/{id}/tickets.
type BookRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func (b *BookRequest) holder() ticket.Holder { return ticket.Holder{Name: b.Name, Email: b.Email} }

// CompRequest is the body of POST /api/gigs/{id}/tickets/comp.
type CompRequest struct {
	BookRequest
	PriceMinor int64 `json:"price_minor"`
}

// decodeHolder reads a booking body into in and validates its holder,
// answering 4xx itself when it cannot.
func (h *handlers) decodeHolder(c *gin.Context, in interface{ holder() ticket.Holder }) (ticket.Holder, bool) {
	if !h.decodeJSON(c, in) {
		return ticket.Holder{}, false
	}
	holder, err := ticket.ValidateHolder(in.holder())
	if err != nil {
		h.fail(c, err)
		return ticket.Holder{}, false
	}
	return holder, true
}

// TicketResponse is a new ticket with its token, shown this once.
type TicketResponse struct {
	Ticket      ticket.Ticket `json:"ticket"`
	TicketToken string        `json:"ticket_token"`
}

// BookingResponse is a paid booking waiting for payment: the token admits
// once the provider confirms the payment.
type BookingResponse struct {
	BookingID   string `json:"booking_id"`
	Status      string `json:"status"`
	CheckoutURL string `json:"checkout_url"`
	TicketToken string `json:"ticket_token"`
}

// MyTicketResponse is GET /api/gigs/{id}/tickets/me.
type MyTicketResponse struct {
	Ticket            ticket.Ticket `json:"ticket"`
	WatchingElsewhere bool          `json:"watching_elsewhere"`
}

// TicketListResponse is the creator's view of a gig's tickets.
type TicketListResponse struct {
	Tickets         []ticket.Ticket `json:"tickets"`
	Sold            int             `json:"sold"`
	Capacity        int             `json:"capacity"`
	RevenueMinor    int64           `json:"revenue_minor"`
	Currency        string          `json:"currency"`
	PaymentsEnabled bool            `json:"payments_enabled"`
}

// OneTicketResponse wraps a ticket after revoke or refund.
type OneTicketResponse struct {
	Ticket ticket.Ticket `json:"ticket"`
}

func (h *handlers) paymentsEnabled() bool {
	return h.d.Payments != nil && payment.Enabled(h.d.Payments)
}

// withSeats fills tickets_sold and seats_left of a ticketed gig.
func (h *handlers) withSeats(ctx context.Context, g store.Gig) store.Gig {
	if h.d.Tickets == nil || !g.Ticketed() {
		return g
	}
	n, err := h.d.Tickets.Counts(ctx, g.ID)
	if err != nil {
		// A listing stays useful without seat counts; booking re-checks.
		h.log.Warn("ticket counts unavailable", "gig", g.ID, "err", err)
		return g
	}
	g.TicketsSold = n.Sold
	if g.Capacity > 0 {
		left := max(g.Capacity-n.Sold, 0)
		g.SeatsLeft = &left
	}
	return g
}

// bookableGig loads the gig in the path and answers 404/409 itself when it
// cannot be booked.
func (h *handlers) bookableGig(c *gin.Context) (store.Gig, bool) {
	g, err := h.d.Store.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return g, false
	}
	if g.Status == store.StatusEnded {
		writeError(c, http.StatusConflict, codeGigEnded, "this gig has ended; it can no longer be booked", "")
		return g, false
	}
	return g, true
}

func (h *handlers) bookTicket(c *gin.Context) {
	var in BookRequest
	holder, ok := h.decodeHolder(c, &in)
	if !ok {
		return
	}
	g, ok := h.bookableGig(c)
	if !ok {
		return
	}
	if !g.Ticketed() {
		writeError(c, http.StatusConflict, codeNotTicketed, "this gig is open: anyone can watch and chat, no ticket needed", "")
		return
	}
	ctx := c.Request.Context()
	if g.PriceMinor == 0 {
		t, token, err := h.d.Tickets.Issue(ctx, ticket.Issue{GigID: g.ID, Capacity: g.Capacity, Holder: holder, Kind: ticket.KindFree, Currency: g.Currency})
		if err != nil {
			h.fail(c, err)
			return
		}
		h.log.Info("ticket booked", "gig", g.ID, "ticket", t.ID)
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusCreated, TicketResponse{Ticket: t, TicketToken: token})
		return
	}
	if !h.paymentsEnabled() {
		writeError(c, http.StatusServiceUnavailable, codePaymentsOff, msgPaymentsOff, "")
		return
	}
	if g.Capacity > 0 {
		// Refuse before sending the buyer to pay; the webhook re-checks
		// atomically and refunds the rare buyer who loses the last seat.
		n, err := h.d.Tickets.Counts(ctx, g.ID)
		if err != nil {
			h.fail(c, err)
			return
		}
		if n.Sold >= g.Capacity {
			writeError(c, http.StatusConflict, codeSoldOut, msgSoldOut, "")
			return
		}
	}
	b, token, err := h.d.Tickets.Reserve(ctx, g.ID, holder, g.PriceMinor, g.Currency)
	if err != nil {
		h.fail(c, err)
		return
	}
	base := h.publicBase(c.Request)
	back := base + "/gig/" + url.PathEscape(g.ID)
	co, err := h.d.Payments.Checkout(ctx, payment.CheckoutRequest{
		GigID: g.ID, BookingID: b.ID, Title: g.Title,
		AmountMinor: g.PriceMinor, Currency: g.Currency, Email: holder.Email,
		SuccessURL: back + "?booking=" + url.QueryEscape(b.ID),
		CancelURL:  back,
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("paid booking started", "gig", g.ID, "booking", b.ID)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, BookingResponse{BookingID: b.ID, Status: "pending", CheckoutURL: co.URL, TicketToken: token})
}

// publicBase is the scheme and host browsers reach this server on, for the
// checkout's return URLs: Deps.PublicURL, or the request's host (a TLS
// proxy in front says https in X-Forwarded-Proto; a forged header only
// changes the forger's own return address).
func (h *handlers) publicBase(r *http.Request) string {
	if h.d.PublicURL != "" {
		return strings.TrimRight(h.d.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *handlers) myTicket(c *gin.Context) {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok {
		writeError(c, http.StatusUnauthorized, codeUnauthorized, "send the ticket as Authorization: Bearer <ticket>", "")
		return
	}
	screen := c.Query("screen")
	if len(screen) > maxScreenLen {
		writeError(c, http.StatusBadRequest, codeValidation, "must be at most "+strconv.Itoa(maxScreenLen)+" characters", "screen")
		return
	}
	ctx := c.Request.Context()
	t, err := h.d.Tickets.Authenticate(ctx, c.Param("id"), token)
	if errors.Is(err, ticket.ErrPending) {
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusAccepted, gin.H{"status": "pending"})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if t.Status != ticket.StatusValid {
		writeError(c, http.StatusUnauthorized, codeTicketRevoked, "this ticket was "+string(t.Status)+" by the creator", "")
		return
	}
	out := MyTicketResponse{Ticket: t}
	if screen != "" {
		cur, err := h.d.Gate.CurrentScreen(ctx, t.GigID, t.ID)
		if err != nil {
			h.fail(c, err)
			return
		}
		out.WatchingElsewhere = cur != "" && cur != screen
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (h *handlers) listTickets(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	ctx := c.Request.Context()
	g, err := h.d.Store.Get(ctx, c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	list, err := h.d.Tickets.List(ctx, g.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	n, err := h.d.Tickets.Counts(ctx, g.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	if list == nil {
		list = []ticket.Ticket{}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, TicketListResponse{
		Tickets: list, Sold: n.Sold, Capacity: g.Capacity, RevenueMinor: n.RevenueMinor,
		Currency: g.Currency, PaymentsEnabled: h.paymentsEnabled(),
	})
}

func (h *handlers) compTicket(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	var in CompRequest
	holder, ok := h.decodeHolder(c, &in)
	if !ok {
		return
	}
	if in.PriceMinor < 0 || in.PriceMinor > store.MaxPriceMinor {
		writeError(c, http.StatusBadRequest, codeValidation, "must be between 0 and "+strconv.Itoa(store.MaxPriceMinor)+" (minor units)", "price_minor")
		return
	}
	g, ok := h.bookableGig(c)
	if !ok {
		return
	}
	t, token, err := h.d.Tickets.Issue(c.Request.Context(), ticket.Issue{
		GigID: g.ID, Capacity: g.Capacity, Holder: holder, Kind: ticket.KindComp,
		PaidMinor: in.PriceMinor, Currency: g.Currency,
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("comp ticket issued", "gig", g.ID, "ticket", t.ID)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, TicketResponse{Ticket: t, TicketToken: token})
}

func (h *handlers) revokeTicket(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	t, err := h.d.Gate.Revoke(c.Request.Context(), c.Param("id"), c.Param("ticket"), ticket.StatusRevoked)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("ticket revoked", "gig", t.GigID, "ticket", t.ID)
	c.JSON(http.StatusOK, OneTicketResponse{Ticket: t})
}

func (h *handlers) refundTicket(c *gin.Context) {
	if !h.authorize(c) {
		return
	}
	ctx := c.Request.Context()
	t, err := h.d.Tickets.Get(ctx, c.Param("id"), c.Param("ticket"))
	if err != nil {
		h.fail(c, err)
		return
	}
	if t.Kind != ticket.KindPaid || t.PaymentRef == "" {
		writeError(c, http.StatusConflict, codeNotPaid, "only tickets paid through checkout can be refunded; revoke this one instead", "")
		return
	}
	if t.Status != ticket.StatusValid {
		h.fail(c, ticket.ErrConflict)
		return
	}
	if !h.paymentsEnabled() {
		writeError(c, http.StatusServiceUnavailable, codePaymentsOff, msgPaymentsOff, "")
		return
	}
	if err := h.d.Payments.Refund(ctx, t.PaymentRef, t.PaidMinor); err != nil {
		h.fail(c, err)
		return
	}
	if t, err = h.d.Gate.Revoke(ctx, t.GigID, t.ID, ticket.StatusRefunded); err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("ticket refunded", "gig", t.GigID, "ticket", t.ID)
	c.JSON(http.StatusOK, OneTicketResponse{Ticket: t})
}

// stripeWebhook issues paid tickets from checkout.session.completed:
// idempotently (a redelivered event finds its ticket), and refunding
// instead of overselling when the last seat went while the buyer paid.
func (h *handlers) stripeWebhook(c *gin.Context) {
	if !h.paymentsEnabled() {
		writeError(c, http.StatusServiceUnavailable, codePaymentsOff, msgPaymentsOff, "")
		return
	}
	body, err := readLimited(c, maxWebhookBodyByte)
	if err != nil {
		return
	}
	ev, err := h.d.Payments.ParseWebhook(body, c.GetHeader("Stripe-Signature"))
	if err != nil {
		h.fail(c, err)
		return
	}
	done := gin.H{"received": true}
	cs := ev.Completed
	if cs == nil || !cs.Paid {
		c.JSON(http.StatusOK, done)
		return
	}
	ctx := c.Request.Context()
	log := h.log.With("gig", cs.GigID, "booking", cs.BookingID, "event", ev.ID)
	g, err := h.d.Store.Get(ctx, cs.GigID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("payment for a deleted gig: refunding")
		h.refundOrFail(c, cs, done)
		return
	}
	if err != nil {
		h.fail(c, err) // 503: the provider retries the webhook later
		return
	}
	t, created, err := h.d.Tickets.Confirm(ctx, g.ID, cs.BookingID, g.Capacity, cs.PaymentRef)
	switch {
	case errors.Is(err, ticket.ErrSoldOut):
		log.Warn("paid while the last seat went: refunding")
		h.refundOrFail(c, cs, done)
		return
	case errors.Is(err, ticket.ErrNotFound):
		log.Warn("payment for an unknown booking: refunding")
		h.refundOrFail(c, cs, done)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	if !created && t.Status == ticket.StatusRefunded && t.Kind == ticket.KindPaid {
		// A redelivery of a payment refunded for want of a seat: refund
		// again (idempotent at the provider) in case the first one failed.
		h.refundOrFail(c, cs, done)
		return
	}
	if created {
		log.Info("paid ticket issued", "ticket", t.ID)
	}
	c.JSON(http.StatusOK, done)
}

func (h *handlers) refundOrFail(c *gin.Context, cs *payment.Completed, done gin.H) {
	if err := h.d.Payments.Refund(c.Request.Context(), cs.PaymentRef, cs.AmountMinor); err != nil {
		h.fail(c, err)
		return
	}
	done["refunded"] = true
	c.JSON(http.StatusOK, done)
}

// readLimited reads a raw body of at most limit bytes, answering 413 itself.
func readLimited(c *gin.Context, limit int64) ([]byte, error) {
	if c.Request.ContentLength > limit {
		writeError(c, http.StatusRequestEntityTooLarge, codeTooLarge, tooLargeMsg(limit), "")
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		writeError(c, http.StatusRequestEntityTooLarge, codeTooLarge, tooLargeMsg(limit), "")
		return nil, err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		writeError(c, http.StatusRequestTimeout, codeTimeout, "the request body did not arrive in time", "")
		return nil, err
	}
	if err != nil {
		writeError(c, http.StatusBadRequest, codeBadRequest, "could not read the request body", "")
		return nil, err
	}
	return b, nil
}

package api

import (
	"net/http"
	"testing"

	"github.com/bookmygig/bookmygig/ticket"
)

// TestSoldOutRefundNeverRevives: a buyer who paid for a seat that went to
// someone else is refunded, and from then on their token answers 401
// ticket_revoked (not 202 pending forever). A redelivered webhook, even
// after a seat frees up, keeps the booking refunded: the buyer never gets
// the money back and a seat.
func TestSoldOutRefundNeverRevives(t *testing.T) {
	base := startStripeMock(t)
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, stripePayments(base))
		g := env.paidGig(1)
		mt := g.Credentials.ManageToken
		a := env.paidBooking(g.ID, "Ada Lovelace")
		b := env.paidBooking(g.ID, "Alan Turing")
		if _, refunded := webhookResult(t, env.webhook(paidEvent("evt_a", g.ID, a.BookingID, "pi_a"), "")); refunded {
			t.Fatal("A took the free seat but was refunded")
		}
		evB := paidEvent("evt_b", g.ID, b.BookingID, "pi_b")
		if _, refunded := webhookResult(t, env.webhook(evB, "")); !refunded {
			t.Fatal("B paid for a sold-out gig and was not refunded")
		}
		wantError(t, env.me(g.ID, b.TicketToken), http.StatusUnauthorized, codeTicketRevoked, "")

		// The creator sees the refunded payment; it is neither a seat nor
		// revenue.
		l, lr := env.list(g)
		if l.Sold != 1 || l.RevenueMinor != 2500 || len(l.Tickets) != 2 {
			t.Fatalf("list after the sold-out refund: %s", lr.body)
		}
		var refundedB ticket.Ticket
		for _, tk := range l.Tickets {
			if tk.ID == b.BookingID {
				refundedB = tk
			}
		}
		if refundedB.Status != ticket.StatusRefunded || refundedB.Kind != ticket.KindPaid || refundedB.PaidMinor != 2500 ||
			refundedB.EndedAt.IsZero() || refundedB.Name != "Alan Turing" {
			t.Fatalf("B in the list: %+v", refundedB)
		}

		// A's seat frees up; B's webhook is delivered again (same event and
		// a new one): 200, and B stays refunded.
		m := myTicket(t, env.me(g.ID, a.TicketToken))
		wantStatus(t, env.do("POST", "/api/gigs/"+g.ID+"/tickets/"+m.Ticket.ID+"/revoke", nil, bearer(mt)...), http.StatusOK)
		for _, ev := range [][]byte{evB, paidEvent("evt_b2", g.ID, b.BookingID, "pi_b")} {
			recv, refunded := webhookResult(t, env.webhook(ev, ""))
			if !recv || !refunded {
				// Refunding again is idempotent at the provider and retries
				// a refund that failed the first time.
				t.Fatalf("redelivered webhook: received %v, refunded %v", recv, refunded)
			}
			wantError(t, env.me(g.ID, b.TicketToken), http.StatusUnauthorized, codeTicketRevoked, "")
		}
		if l, lr := env.list(g); l.Sold != 0 || l.RevenueMinor != 0 || len(l.Tickets) != 2 {
			t.Fatalf("list after redelivery: %s", lr.body)
		}
		// The freed seat is still for sale.
		c := env.paidBooking(g.ID, "Grace Hopper")
		if _, refunded := webhookResult(t, env.webhook(paidEvent("evt_c", g.ID, c.BookingID, "pi_c"), "")); refunded {
			t.Fatal("the freed seat was not sold")
		}
		if m := myTicket(t, env.me(g.ID, c.TicketToken)); m.Ticket.Status != ticket.StatusValid {
			t.Fatalf("C: %+v", m.Ticket)
		}
	})
}

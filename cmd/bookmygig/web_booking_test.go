package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/browsertest"
	"github.com/bookmygig/bookmygig/internal/stripemock"
	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/web"
)

// bookingResult is what e2e/web_booking.mjs prints.
type bookingResult struct {
	OK             bool   `json:"ok"`
	Error          string `json:"error"`
	Booked         bool   `json:"booked"`
	SawBookToWatch bool   `json:"sawBookToWatch"`
	SawConfirming  bool   `json:"sawConfirming"`
	CheckoutURL    string `json:"checkoutURL"`
	BookingID      string `json:"bookingID"`
	TicketStored   bool   `json:"ticketStored"`
	NoReload       bool   `json:"noReload"`
	Frames         int    `json:"frames"`
	Transport      string `json:"transport"`
	Chat           bool   `json:"chat"`
	ChatName       string `json:"chatName"`
	Monetization   string `json:"monetization"`
}

// TestWebBooking walks the watch page of a ticketed gig in headless
// Chromium: "Book to watch", the booking form, then playback and chat under
// the ticket's name. For a paid gig the script follows the checkout flow
// against stripe-mock, this test delivers the signed webhook Stripe would
// send, and the page plays once the payment is confirmed. Then one ticket
// on two pages: the first says it is watching elsewhere.
func TestWebBooking(t *testing.T) {
	if !web.Built() {
		t.Fatal("the web front-end is not built: run `make web` (or `make test`)")
	}
	ingesttest.RequireFFmpeg(t)
	browsertest.Require(t)
	mock := stripemock.Start(t)
	n := startNode(t, "--stripe-secret-key", testStripeKey, "--stripe-webhook-secret", testWebhookSecret, "--stripe-api-base", mock)
	art := artifacts(t)

	g := n.createGigWith(t, "Booked show", map[string]any{"access": "ticket", "capacity": 50, "payment_pointer": "$wallet.example/asha"})
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	t.Run("free", func(t *testing.T) {
		var r bookingResult
		browser(t, 150*time.Second, &r, "web_booking.mjs", n.HTTP, art, g.ID, "free")
		if !r.OK || !r.SawBookToWatch || !r.Booked || !r.NoReload || r.Frames <= 0 || !r.Chat || !strings.HasPrefix(r.ChatName, "Booker") ||
			r.Monetization != "https://wallet.example/asha" {
			t.Fatalf("free booking on the watch page: %+v", r)
		}
		t.Logf("free: %d frames over %s, chat as %q", r.Frames, r.Transport, r.ChatName)
	})

	t.Run("paid", func(t *testing.T) {
		if code := n.do(t, http.MethodPatch, "/api/gigs/"+g.ID, g.Credentials.ManageToken, map[string]any{"price_minor": 700, "currency": "USD"}, nil); code != http.StatusOK {
			t.Fatalf("price the gig: %d", code)
		}
		// What Stripe does after the buyer pays: a signed
		// checkout.session.completed to the webhook URL.
		var delivered int
		confirm := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ev := payment.CompletedEventJSON("evt_web_"+r.URL.Query().Get("booking"), payment.Completed{
				GigID: r.URL.Query().Get("gig"), BookingID: r.URL.Query().Get("booking"),
				PaymentRef: "pi_web_test", AmountMinor: 700, Currency: "usd", Paid: true,
			})
			req, _ := http.NewRequest(http.MethodPost, n.HTTP+"/api/payments/stripe/webhook", strings.NewReader(string(ev)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", payment.SignWebhook(ev, testWebhookSecret, time.Now()))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			resp.Body.Close()
			delivered = resp.StatusCode
			w.WriteHeader(resp.StatusCode)
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = confirm.Serve(ln) }()
		t.Cleanup(func() { _ = confirm.Close() })

		var r bookingResult
		browser(t, 150*time.Second, &r, "web_booking.mjs", n.HTTP, art, g.ID, "paid", "http://"+ln.Addr().String()+"/confirm")
		if !r.OK || !r.SawBookToWatch || !r.SawConfirming || r.BookingID == "" || !strings.HasPrefix(r.CheckoutURL, "https://") ||
			r.Frames <= 0 || !r.Chat || delivered != http.StatusOK {
			t.Fatalf("paid booking on the watch page: %+v (webhook answered %d)", r, delivered)
		}
		var list struct {
			Tickets []ticketView `json:"tickets"`
		}
		n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets", g.Credentials.ManageToken, nil, &list)
		paid := 0
		for _, tk := range list.Tickets {
			if tk.Kind == "paid" && tk.PaidMinor == 700 {
				paid++
			}
		}
		if paid != 1 {
			t.Fatalf("want one paid ticket after the checkout, got %+v", list.Tickets)
		}
		t.Logf("paid: %d frames over %s after checkout", r.Frames, r.Transport)
	})

	t.Run("one-screen", func(t *testing.T) {
		var comp booked
		if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/comp", g.Credentials.ManageToken,
			map[string]any{"name": "Guest", "email": "guest@example.com", "price_minor": 0}, &comp); code != http.StatusCreated {
			t.Fatalf("comp ticket: %d", code)
		}
		var r struct {
			OK               bool    `json:"ok"`
			Error            string  `json:"error"`
			FramesA          int     `json:"framesA"`
			FramesB          int     `json:"framesB"`
			ElsewhereAfterMs float64 `json:"elsewhereAfterMs"`
			ChatOnA          bool    `json:"chatOnA"`
			WatchHere        bool    `json:"watchHere"`
			BElsewhere       bool    `json:"bElsewhere"`
		}
		// The server ends the first playback within 2 s (TestOneScreenPerTicketAcrossNodes);
		// the page notices its picture stopped (1.5 s of no frames) and asks
		// why, so its message comes a little later.
		browser(t, 180*time.Second, &r, "web_one_screen.mjs", n.HTTP, art, g.ID, comp.TicketToken)
		if !r.OK || r.FramesA <= 0 || r.FramesB <= 0 || r.ElsewhereAfterMs <= 0 || r.ElsewhereAfterMs > 5000 || !r.ChatOnA || !r.WatchHere || !r.BElsewhere {
			t.Fatalf("one ticket, one screen: %+v", r)
		}
		t.Logf("one screen: the first page said 'watching elsewhere' %.0f ms after the second played", r.ElsewhereAfterMs)
	})

	t.Run("studio", func(t *testing.T) {
		var r struct {
			OK             bool    `json:"ok"`
			Error          string  `json:"error"`
			Summary        string  `json:"summary"`
			PaymentsOff    string  `json:"paymentsOff"`
			CompToken      string  `json:"compToken"`
			GuestFrames    int     `json:"guestFrames"`
			Revoked        string  `json:"revoked"`
			RevokedAfterMs float64 `json:"revokedAfterMs"`
			Listed         bool    `json:"listed"`
		}
		browser(t, 180*time.Second, &r, "web_studio_tickets.mjs", n.HTTP, art, g.ID, g.Credentials.ManageToken)
		if !r.OK || !strings.Contains(r.Summary, "seats sold") || !strings.HasPrefix(r.CompToken, "tk_") || r.GuestFrames <= 0 ||
			!strings.Contains(r.Revoked, "revoked") || r.RevokedAfterMs <= 0 || r.RevokedAfterMs > 3000 || !r.Listed || r.PaymentsOff != "" {
			t.Fatalf("studio tickets panel: %+v", r)
		}
		t.Logf("studio: %q; the revoked guest saw it %.0f ms after Revoke", r.Summary, r.RevokedAfterMs)
	})
	n.assertLogsFree(t, g.Credentials.ManageToken, testStripeKey, testWebhookSecret)
}

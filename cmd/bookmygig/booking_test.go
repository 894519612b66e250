package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/stripemock"
	"github.com/bookmygig/bookmygig/payment"
	"github.com/gorilla/websocket"
)

// Test secrets for the payment provider: stripe-mock takes any sk_test_ key.
const (
	testStripeKey     = "sk_test_bookmygig0123456789"
	testWebhookSecret = "whsec_bookmygigtest0123456789"
)

type ticketView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Status    string `json:"status"`
	Kind      string `json:"kind"`
	PaidMinor int64  `json:"paid_minor"`
}

type booked struct {
	Ticket      ticketView `json:"ticket"`
	TicketToken string     `json:"ticket_token"`
	BookingID   string     `json:"booking_id"`
	Status      string     `json:"status"`
	CheckoutURL string     `json:"checkout_url"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// book asks for a ticket and returns the status with the decoded answer.
func (n *node) book(t *testing.T, gigID, name string) (int, booked, apiError) {
	t.Helper()
	var raw json.RawMessage
	code := n.do(t, http.MethodPost, "/api/gigs/"+gigID+"/tickets", "", map[string]any{"name": name, "email": strings.ToLower(name) + "@example.com"}, &raw)
	var b booked
	var e apiError
	_ = json.Unmarshal(raw, &b)
	_ = json.Unmarshal(raw, &e)
	return code, b, e
}

// mustBook books a free ticket and returns its token.
func (n *node) mustBook(t *testing.T, gigID, name string) booked {
	t.Helper()
	code, b, e := n.book(t, gigID, name)
	if code != http.StatusCreated || !strings.HasPrefix(b.TicketToken, "tk_") || b.Ticket.Status != "valid" {
		t.Fatalf("book %s: %d %+v %+v", name, code, b, e)
	}
	return b
}

// flvGet opens HTTP-FLV with a query (ticket=...) and returns the response.
func (n *node) flvGet(t *testing.T, gigID, query string) *http.Response {
	t.Helper()
	url := n.HTTP + "/live/" + gigID + ".flv"
	if query != "" {
		url += "?" + query
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET FLV: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// refusal reads a 401 JSON error.
func refusal(t *testing.T, resp *http.Response) apiError {
	t.Helper()
	var e apiError
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("want 401, got %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("401 body is not the JSON error: %s", body)
	}
	return e
}

// streamEnds reads r in the background and reports when it fails.
func streamEnds(t *testing.T, r io.Reader) <-chan time.Time {
	t.Helper()
	done := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			if _, err := r.Read(buf); err != nil {
				done <- time.Now()
				return
			}
		}
	}()
	return done
}

func waitEnded(t *testing.T, what string, ended <-chan time.Time, since time.Time, limit time.Duration) {
	t.Helper()
	select {
	case at := <-ended:
		t.Logf("%s ended %v after the action", what, at.Sub(since).Round(time.Millisecond))
	case <-time.After(limit):
		t.Fatalf("%s still running %s after the action", what, limit)
	}
}

// TestTicketedGigGatesMediaAndChat: on a free ticketed gig, WHEP, HTTP-FLV,
// WS-FLV and chat refuse viewers without a ticket with a 401 that says how
// to book; a booked ticket plays on each (real ffmpeg decodes the FLV, a
// pion viewer gets H.264 and Opus) and chats under the ticket's name; the
// creator's manage token always passes; capacity is enforced; revoking the
// ticket ends its playback and chat within 2 s and it cannot come back.
func TestTicketedGigGatesMediaAndChat(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	n := startNode(t)
	g := n.createGigWith(t, "Ticketed show", map[string]any{"access": "ticket", "capacity": 3})
	var view map[string]any
	n.do(t, http.MethodGet, "/api/gigs/"+g.ID, "", nil, &view)
	if view["access"] != "ticket" || view["capacity"] != float64(3) || view["seats_left"] != float64(3) {
		t.Fatalf("gig shows %v", view)
	}
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	// Refused without a ticket, with a message that says how to book.
	e := refusal(t, n.flvGet(t, g.ID, ""))
	if e.Error.Code != "ticket_required" || !strings.Contains(e.Error.Message, "/api/gigs/"+g.ID+"/tickets") {
		t.Fatalf("FLV without ticket: %+v", e)
	}
	if e := refusal(t, n.flvGet(t, g.ID, "ticket=tk_forged")); e.Error.Code != "invalid_ticket" {
		t.Fatalf("FLV with a forged ticket: %+v", e)
	}
	if _, code, body := n.offerWHEP(t, g.ID, ""); code != http.StatusUnauthorized || !strings.Contains(body, "ticket_required") {
		t.Fatalf("WHEP without ticket: %d %s", code, body)
	}
	wsURL := "ws" + strings.TrimPrefix(n.HTTP, "http") + "/live/" + g.ID + ".flv"
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("WS-FLV without ticket: %v %v", err, resp)
	}
	anon := n.chat(t, g.ID)
	anon.send(map[string]any{"type": "join", "name": "Sneaky"})
	if f := anon.next("error", 5*time.Second); f["code"] != "ticket_required" {
		t.Fatalf("chat without ticket: %v", f)
	}

	ann := n.mustBook(t, g.ID, "Ann")
	ben := n.mustBook(t, g.ID, "Ben")
	cat := n.mustBook(t, g.ID, "Cat")
	if code, _, e := n.book(t, g.ID, "Dan"); code != http.StatusConflict || e.Error.Code != "sold_out" {
		t.Fatalf("fourth booking of 3 seats: %d %+v", code, e)
	}
	n.do(t, http.MethodGet, "/api/gigs/"+g.ID, "", nil, &view)
	if view["seats_left"] != float64(0) || view["tickets_sold"] != float64(3) {
		t.Fatalf("sold-out gig shows %v", view)
	}

	// The ticket plays everywhere; the manage token too.
	decodeFrames(t, n.HTTP+"/live/"+g.ID+".flv?ticket="+ann.TicketToken, 30)
	decodeFrames(t, n.HTTP+"/live/"+g.ID+".flv?ticket="+g.Credentials.ManageToken, 10)
	v, code, body := n.offerWHEP(t, g.ID, ben.TicketToken)
	if code != http.StatusCreated {
		t.Fatalf("WHEP with ticket: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "WHEP video and audio", func() bool { return v.video.Load() > 30 && v.audio.Load() > 10 })
	creator, code, body := n.offerWHEP(t, g.ID, g.Credentials.ManageToken)
	if code != http.StatusCreated {
		t.Fatalf("WHEP with the manage token: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "creator's WHEP video", func() bool { return creator.video.Load() > 10 })

	ws, _, err := websocket.DefaultDialer.Dial(wsURL+"?ticket="+cat.TicketToken, nil)
	if err != nil {
		t.Fatalf("WS-FLV with ticket: %v", err)
	}
	defer ws.Close()
	wsEnded := make(chan time.Time, 1)
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				wsEnded <- time.Now()
				return
			}
		}
	}()
	annFLV := n.flvGet(t, g.ID, "ticket="+ann.TicketToken+"&screen=second")
	if annFLV.StatusCode != http.StatusOK {
		t.Fatalf("FLV with ticket: %d", annFLV.StatusCode)
	}
	flvEnded := streamEnds(t, annFLV.Body)

	annChat := n.chat(t, g.ID)
	annChat.send(map[string]any{"type": "join", "name": "Mallory", "ticket": ann.TicketToken})
	if j := annChat.next("joined", 5*time.Second); j["name"] != "Ann" {
		t.Fatalf("chat name comes from the ticket: %v", j)
	}

	// Revoke Ann: her FLV and chat end; Ben and Cat keep watching.
	var rev struct {
		Ticket ticketView `json:"ticket"`
	}
	revokedAt := time.Now()
	if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/"+ann.Ticket.ID+"/revoke", g.Credentials.ManageToken, nil, &rev); code != http.StatusOK || rev.Ticket.Status != "revoked" {
		t.Fatalf("revoke: %d %+v", code, rev)
	}
	waitEnded(t, "revoked FLV", flvEnded, revokedAt, 2*time.Second)
	if f := annChat.next("error", 2*time.Second); f["code"] != "ticket_revoked" {
		t.Fatalf("revoked chat: %v", f)
	}
	if e := refusal(t, n.flvGet(t, g.ID, "ticket="+ann.TicketToken)); e.Error.Code != "ticket_revoked" {
		t.Fatalf("revoked ticket reconnects: %+v", e)
	}
	before := v.video.Load()
	time.Sleep(time.Second)
	if v.video.Load() <= before {
		t.Fatal("Ben's WHEP playback stopped when Ann's ticket was revoked")
	}
	select {
	case <-wsEnded:
		t.Fatal("Cat's WS-FLV ended when Ann's ticket was revoked")
	default:
	}
	// The seat is free again.
	n.mustBook(t, g.ID, "Dan")

	// Revoking Cat ends her WS-FLV.
	revokedAt = time.Now()
	if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/"+cat.Ticket.ID+"/revoke", g.Credentials.ManageToken, nil, nil); code != http.StatusOK {
		t.Fatalf("revoke cat: %d", code)
	}
	waitEnded(t, "revoked WS-FLV", wsEnded, revokedAt, 2*time.Second)

	// Revoking Ben ends his WHEP session.
	revokedAt = time.Now()
	if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/"+ben.Ticket.ID+"/revoke", g.Credentials.ManageToken, nil, nil); code != http.StatusOK {
		t.Fatalf("revoke ben: %d", code)
	}
	waitFor(t, 2*time.Second, "WHEP packets to stop", func() bool {
		a := v.video.Load()
		time.Sleep(300 * time.Millisecond)
		return v.video.Load() == a
	})
	t.Logf("revoked WHEP stopped within %v", time.Since(revokedAt).Round(time.Millisecond))
	if _, code, body := n.offerWHEP(t, g.ID, ben.TicketToken); code != http.StatusUnauthorized || !strings.Contains(body, "ticket_revoked") {
		t.Fatalf("revoked WHEP reconnect: %d %s", code, body)
	}
	n.assertLogsFree(t, ann.TicketToken, ben.TicketToken, cat.TicketToken, g.Credentials.ManageToken, g.Credentials.StreamKey)
}

// TestOneScreenPerTicketAcrossNodes: two nodes on one Redis. A ticket
// playing on node A is ended within 2 s when the same ticket starts playing
// on node B; the first page learns why from tickets/me; chat keeps working
// on both; revoking on node B ends node A's chat.
func TestOneScreenPerTicketAcrossNodes(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	rds := redistest.Start(t)
	a := startNode(t, "--redis", rds.URL(), "--node-id", "node-a")
	b := startNode(t, "--redis", rds.URL(), "--node-id", "node-b")
	g := a.createGigWith(t, "One screen", map[string]any{"access": "ticket"})
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	a.waitStatus(t, g.ID, "live", 15*time.Second)
	tk := b.mustBook(t, g.ID, "Dee")

	first := a.flvGet(t, g.ID, "ticket="+tk.TicketToken+"&screen=laptop")
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first screen: %d", first.StatusCode)
	}
	firstEnded := streamEnds(t, first.Body)
	chatA := a.chat(t, g.ID)
	chatA.join("x", map[string]any{"ticket": tk.TicketToken})
	chatB := b.chat(t, g.ID)
	chatB.join("x", map[string]any{"ticket": tk.TicketToken})

	time.Sleep(500 * time.Millisecond)
	// The second screen is on node A too (media is served by the node the
	// creator publishes to); the claim travels through Redis either way, and
	// the page asks node B.
	startedAt := time.Now()
	second := a.flvGet(t, g.ID, "ticket="+tk.TicketToken+"&screen=phone")
	if second.StatusCode != http.StatusOK {
		t.Fatalf("second screen: %d", second.StatusCode)
	}
	waitEnded(t, "first screen", firstEnded, startedAt, 2*time.Second)
	var me struct {
		Ticket            ticketView `json:"ticket"`
		WatchingElsewhere bool       `json:"watching_elsewhere"`
	}
	if code := b.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me?screen=laptop", tk.TicketToken, nil, &me); code != http.StatusOK || !me.WatchingElsewhere {
		t.Fatalf("tickets/me for the first screen: %d %+v", code, me)
	}
	if code := b.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me?screen=phone", tk.TicketToken, nil, &me); code != http.StatusOK || me.WatchingElsewhere {
		t.Fatalf("tickets/me for the second screen: %d %+v", code, me)
	}
	// Chat works on both connections of the ticket.
	chatA.send(map[string]any{"type": "message", "text": "from the laptop"})
	if m := chatB.next("message", 5*time.Second); m["text"] != "from the laptop" || m["name"] != "Dee" {
		t.Fatalf("chat across nodes: %v", m)
	}
	// Revoking through node B ends node A's chat and playback.
	secondEnded := streamEnds(t, second.Body)
	revokedAt := time.Now()
	if code := b.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/"+tk.Ticket.ID+"/revoke", g.Credentials.ManageToken, nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	waitEnded(t, "playback on the other node", secondEnded, revokedAt, 2*time.Second)
	if f := chatA.next("error", 2*time.Second); f["code"] != "ticket_revoked" {
		t.Fatalf("chat on node a after revoke on node b: %v", f)
	}
}

// TestCapacityHoldsAcrossNodes: 500 concurrent bookings for 100 seats,
// spread over two nodes on one real Redis, give exactly 100 tickets.
func TestCapacityHoldsAcrossNodes(t *testing.T) {
	rds := redistest.Start(t)
	// One test client books 500 times: lift the per-address booking limit.
	a := startNode(t, "--redis", rds.URL(), "--node-id", "node-a", "--booking-limit", "1000/1m")
	b := startNode(t, "--redis", rds.URL(), "--node-id", "node-b", "--booking-limit", "1000/1m")
	g := a.createGigWith(t, "Hundred seats", map[string]any{"access": "ticket", "capacity": 100})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	codes := map[int]int{}
	tokens := map[string]bool{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n := a
			if i%2 == 1 {
				n = b
			}
			body := strings.NewReader(`{"name":"Fan","email":"fan@example.com"}`)
			resp, err := client.Post(n.HTTP+"/api/gigs/"+g.ID+"/tickets", "application/json", body)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out booked
			_ = json.NewDecoder(resp.Body).Decode(&out)
			mu.Lock()
			codes[resp.StatusCode]++
			if out.TicketToken != "" {
				tokens[out.TicketToken] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[http.StatusCreated] != 100 || codes[http.StatusConflict] != 400 || len(tokens) != 100 {
		t.Fatalf("500 bookings for 100 seats: %v, %d distinct tokens", codes, len(tokens))
	}
	var list struct {
		Tickets []ticketView `json:"tickets"`
		Sold    int          `json:"sold"`
	}
	if code := b.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets", g.Credentials.ManageToken, nil, &list); code != http.StatusOK || list.Sold != 100 || len(list.Tickets) != 100 {
		t.Fatalf("ticket list: %d sold=%d n=%d", code, list.Sold, len(list.Tickets))
	}
	var view map[string]any
	b.do(t, http.MethodGet, "/api/gigs/"+g.ID, "", nil, &view)
	if view["seats_left"] != float64(0) {
		t.Fatalf("gig after selling out: %v", view)
	}
}

// TestPaidBookingThroughStripe: a paid gig books through Stripe Checkout
// (the real stripe-mock); the token admits nothing until the signed
// checkout.session.completed webhook arrives; a replayed event issues no
// second ticket; unsigned and forged webhooks are refused; then the ticket
// plays; a refund ends playback.
func TestPaidBookingThroughStripe(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	mock := stripemock.Start(t)
	n := startNode(t, "--stripe-secret-key", testStripeKey, "--stripe-webhook-secret", testWebhookSecret, "--stripe-api-base", mock)
	g := n.createGigWith(t, "Paid show", map[string]any{"price_minor": 1500, "currency": "EUR", "capacity": 10})
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	code, bk, e := n.book(t, g.ID, "Eve")
	if code != http.StatusCreated || bk.Status != "pending" || bk.BookingID == "" || !strings.HasPrefix(bk.CheckoutURL, "https://") || !strings.HasPrefix(bk.TicketToken, "tk_") {
		t.Fatalf("paid booking: %d %+v %+v", code, bk, e)
	}
	if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me", bk.TicketToken, nil, nil); code != http.StatusAccepted {
		t.Fatalf("tickets/me before payment: %d, want 202", code)
	}
	if e := refusal(t, n.flvGet(t, g.ID, "ticket="+bk.TicketToken)); e.Error.Code != "invalid_ticket" {
		t.Fatalf("unpaid ticket plays: %+v", e)
	}

	event := payment.CompletedEventJSON("evt_test_paid_1", payment.Completed{
		GigID: g.ID, BookingID: bk.BookingID, PaymentRef: "pi_test_123", AmountMinor: 1500, Currency: "eur", Paid: true,
	})
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, n.HTTP+"/api/payments/stripe/webhook", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("Stripe-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(event, ""); c != http.StatusBadRequest {
		t.Fatalf("unsigned webhook: %d", c)
	}
	if c := post(event, payment.SignWebhook(event, "whsec_wrong", time.Now())); c != http.StatusBadRequest {
		t.Fatalf("webhook signed with another secret: %d", c)
	}
	if c := post(event, payment.SignWebhook(event, testWebhookSecret, time.Now().Add(-time.Hour))); c != http.StatusBadRequest {
		t.Fatalf("replayed old webhook: %d", c)
	}
	for range 2 { // Stripe delivers at least once
		if c := post(event, payment.SignWebhook(event, testWebhookSecret, time.Now())); c != http.StatusOK {
			t.Fatalf("signed webhook: %d", c)
		}
	}
	var list struct {
		Tickets      []ticketView `json:"tickets"`
		Sold         int          `json:"sold"`
		RevenueMinor int64        `json:"revenue_minor"`
	}
	if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets", g.Credentials.ManageToken, nil, &list); code != http.StatusOK ||
		list.Sold != 1 || len(list.Tickets) != 1 || list.RevenueMinor != 1500 || list.Tickets[0].Kind != "paid" || list.Tickets[0].Name != "Eve" {
		t.Fatalf("after a webhook delivered twice: %d %+v", code, list)
	}
	if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me", bk.TicketToken, nil, nil); code != http.StatusOK {
		t.Fatalf("tickets/me after payment: %d", code)
	}
	decodeFrames(t, n.HTTP+"/live/"+g.ID+".flv?ticket="+bk.TicketToken, 20)

	flv := n.flvGet(t, g.ID, "ticket="+bk.TicketToken)
	ended := streamEnds(t, flv.Body)
	refundedAt := time.Now()
	var rf struct {
		Ticket ticketView `json:"ticket"`
	}
	if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/"+list.Tickets[0].ID+"/refund", g.Credentials.ManageToken, nil, &rf); code != http.StatusOK || rf.Ticket.Status != "refunded" {
		t.Fatalf("refund: %d %+v", code, rf)
	}
	waitEnded(t, "refunded ticket's FLV", ended, refundedAt, 2*time.Second)
	n.assertLogsFree(t, bk.TicketToken, testStripeKey, testWebhookSecret)
}

// TestPaidBookingOffWithoutStripe: with no Stripe keys, paid booking says
// how to enable it and comp tickets still work.
func TestPaidBookingOffWithoutStripe(t *testing.T) {
	n := startNode(t)
	g := n.createGigWith(t, "Paid, no stripe", map[string]any{"price_minor": 900, "currency": "USD"})
	code, _, e := n.book(t, g.ID, "Fay")
	if code != http.StatusServiceUnavailable || e.Error.Code != "payments_unavailable" || !strings.Contains(e.Error.Message, "--stripe-secret-key") {
		t.Fatalf("paid booking without stripe: %d %+v", code, e)
	}
	var comp booked
	if code := n.do(t, http.MethodPost, "/api/gigs/"+g.ID+"/tickets/comp", g.Credentials.ManageToken,
		map[string]any{"name": "Press", "email": "press@example.com", "price_minor": 0}, &comp); code != http.StatusCreated || comp.Ticket.Kind != "comp" || comp.TicketToken == "" {
		t.Fatalf("comp ticket: %d %+v", code, comp)
	}
	var me struct {
		Ticket ticketView `json:"ticket"`
	}
	if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me", comp.TicketToken, nil, &me); code != http.StatusOK || me.Ticket.Name != "Press" {
		t.Fatalf("comp ticket is valid: %d %+v", code, me)
	}
}

// TestBookingRefusesBadInput: huge names and emails, forged tokens, open,
// deleted and unknown gigs get clear 4xx answers and store nothing.
func TestBookingRefusesBadInput(t *testing.T) {
	n := startNode(t)
	g := n.createGigWith(t, "Strict", map[string]any{"access": "ticket", "capacity": 5})
	open := n.createGig(t, "Open")
	cases := []struct {
		name, gig string
		body      any
		code      int
		errCode   string
	}{
		{"huge name", g.ID, map[string]any{"name": strings.Repeat("n", 5000), "email": "a@example.com"}, 400, "validation_failed"},
		{"huge email", g.ID, map[string]any{"name": "A", "email": strings.Repeat("e", 5000) + "@example.com"}, 400, "validation_failed"},
		{"bad email", g.ID, map[string]any{"name": "A", "email": "not an email"}, 400, "validation_failed"},
		{"control chars", g.ID, map[string]any{"name": "A\x1b[31m", "email": "a@example.com"}, 400, "validation_failed"},
		{"unknown field", g.ID, map[string]any{"name": "A", "email": "a@example.com", "seats": 9}, 400, "validation_failed"},
		{"open gig", open.ID, map[string]any{"name": "A", "email": "a@example.com"}, 409, "not_ticketed"},
		{"unknown gig", "aaaaaaaaaaaaaaaa", map[string]any{"name": "A", "email": "a@example.com"}, 404, "not_found"},
	}
	for _, tc := range cases {
		var e apiError
		if code := n.do(t, http.MethodPost, "/api/gigs/"+tc.gig+"/tickets", "", tc.body, &e); code != tc.code || e.Error.Code != tc.errCode {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, code, e, tc.code, tc.errCode)
		}
	}
	var list struct {
		Sold int `json:"sold"`
	}
	if n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets", g.Credentials.ManageToken, nil, &list); list.Sold != 0 {
		t.Fatalf("refused bookings stored %d tickets", list.Sold)
	}
	for _, tok := range []string{"tk_forged", "", g.Credentials.StreamKey} {
		if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me", tok, nil, nil); code != http.StatusUnauthorized {
			t.Errorf("tickets/me with %.4q: %d, want 401", tok, code)
		}
	}
	if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets", "mt_wrong", nil, nil); code != http.StatusForbidden {
		t.Errorf("ticket list with a wrong manage token: %d", code)
	}
	tk := n.mustBook(t, g.ID, "Gus")
	if code := n.do(t, http.MethodDelete, "/api/gigs/"+g.ID, g.Credentials.ManageToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _, e := n.book(t, g.ID, "Hal"); code != http.StatusNotFound {
		t.Fatalf("booking a deleted gig: %d %+v", code, e)
	}
	if code := n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/tickets/me", tk.TicketToken, nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a deleted gig's ticket: %d", code)
	}
}

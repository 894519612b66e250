package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
	"github.com/redis/go-redis/v9"
)

// bookingRoutes are the routes served when Deps.Tickets and Deps.Gate are set.
var bookingRoutes = []string{
	"POST /api/gigs/{id}/tickets",
	"GET /api/gigs/{id}/tickets",
	"GET /api/gigs/{id}/tickets/me",
	"POST /api/gigs/{id}/tickets/comp",
	"POST /api/gigs/{id}/tickets/{ticket}/revoke",
	"POST /api/gigs/{id}/tickets/{ticket}/refund",
	"POST /api/payments/stripe/webhook",
}

// routeDocDiff compares a router's routes with the OpenAPI document it
// serves: routes not documented, and documented operations not routed.
func routeDocDiff(t *testing.T, routes []string, doc []byte) (documented map[string]bool, missing, stale []string) {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented = map[string]bool{}
	for path, item := range d.Paths {
		for method := range item {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	registered := map[string]bool{}
	for _, r := range routes {
		registered[r] = true
	}
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	return documented, missing, stale
}

func TestTicketsOpenAPIMatchesRoutes(t *testing.T) {
	cases := []struct {
		name    string
		booking bool
	}{
		{"booking enabled", true},
		{"booking disabled", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mounts := testMounts()
			env := newEnv(t, engines()[0], func(d *Deps) {
				d.Mounts = mounts
				if tc.booking {
					d.Tickets, d.Gate = newTicketing(t, d, nil)
				}
			})
			d := Deps{Mounts: mounts}
			if tc.booking {
				d.Store = store.NewMemory()
				d.Tickets, d.Gate = newTicketing(t, &d, nil)
			}
			router := NewRouter(d)
			var routes []string
			for _, rt := range router.Routes() {
				p, _ := openAPIPath(rt.Path)
				routes = append(routes, rt.Method+" "+p)
			}
			r := env.do("GET", "/api/openapi.json", nil)
			wantStatus(t, r, http.StatusOK)
			documented, missing, stale := routeDocDiff(t, routes, r.body)
			if len(missing)+len(stale) > 0 {
				t.Fatalf("routes not documented: %v; documented but not routed: %v", missing, stale)
			}
			for _, b := range bookingRoutes {
				if documented[b] != tc.booking {
					t.Fatalf("%s documented=%v with booking=%v", b, documented[b], tc.booking)
				}
			}
			if tc.booking {
				var doc struct {
					Components struct {
						Schemas map[string]any `json:"schemas"`
					} `json:"components"`
				}
				r.json(t, &doc)
				for _, s := range []string{"BookRequest", "CompRequest", "Ticket", "TicketResponse", "BookingResponse", "MyTicket", "OneTicket", "TicketList"} {
					if doc.Components.Schemas[s] == nil {
						t.Fatalf("schema %s missing", s)
					}
				}
			}
		})
	}
}

// gigFields reads a gig's raw JSON, to tell an absent field from a zero.
func gigFields(t *testing.T, r response) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

func TestGigBookingFields(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		cases := []struct {
			name     string
			fields   map[string]any
			status   int
			field    string // of a 400
			access   string
			capacity float64
			seats    any // nil: seats_left absent
			pointer  string
		}{
			{"priced gig is ticketed", map[string]any{}, 201, "", "ticket", 0, nil, "https://wallet.example/grace"},
			{"free gig is open", map[string]any{"price_minor": 0}, 201, "", "open", 0, nil, "https://wallet.example/grace"},
			{"free ticketed with seats", map[string]any{"price_minor": 0, "access": "ticket", "capacity": 3}, 201, "", "ticket", 3, 3.0, "https://wallet.example/grace"},
			{"priced with seats", map[string]any{"capacity": 100, "access": "TICKET"}, 201, "", "ticket", 100, 100.0, "https://wallet.example/grace"},
			{"wallet pointer becomes a URL", map[string]any{"payment_pointer": "$wallet.example/alice"}, 201, "", "ticket", 0, nil, "https://wallet.example/alice"},
			{"https pointer kept", map[string]any{"payment_pointer": "https://wallet.example/bob"}, 201, "", "ticket", 0, nil, "https://wallet.example/bob"},
			{"open with a price", map[string]any{"access": "open"}, 400, "access", "", 0, nil, ""},
			{"unknown access", map[string]any{"price_minor": 0, "access": "vip"}, 400, "access", "", 0, nil, ""},
			{"negative capacity", map[string]any{"capacity": -1}, 400, "capacity", "", 0, nil, ""},
			{"huge capacity", map[string]any{"capacity": store.MaxCapacity + 1}, 400, "capacity", "", 0, nil, ""},
			{"capacity not a number", map[string]any{"capacity": "ten"}, 400, "capacity", "", 0, nil, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := env.do("POST", "/api/gigs", gigBody(tc.fields))
				if tc.status != 201 {
					wantError(t, r, tc.status, codeValidation, tc.field)
					return
				}
				wantStatus(t, r, http.StatusCreated)
				var cr CreateResponse
				r.json(t, &cr)
				for _, got := range []response{r, env.do("GET", "/api/gigs/"+cr.ID, nil)} {
					m := gigFields(t, got)
					if m["access"] != tc.access || m["capacity"] != tc.capacity || m["tickets_sold"] != 0.0 || m["payment_pointer"] != tc.pointer {
						t.Fatalf("gig %s, want access %s capacity %v pointer %s", got.body, tc.access, tc.capacity, tc.pointer)
					}
					seats, present := m["seats_left"]
					if present != (tc.seats != nil) || seats != tc.seats {
						t.Fatalf("seats_left %v (present %v), want %v: %s", seats, present, tc.seats, got.body)
					}
				}
			})
		}

		t.Run("seats follow bookings", func(t *testing.T) {
			g := env.freeGig(2)
			env.book(g.ID, "Ada Lovelace")
			r := env.do("GET", "/api/gigs/"+g.ID, nil)
			wantStatus(t, r, http.StatusOK)
			if m := gigFields(t, r); m["tickets_sold"] != 1.0 || m["seats_left"] != 1.0 {
				t.Fatalf("after one booking: %s", r.body)
			}
			env.book(g.ID, "Alan Turing")
			var list ListResponse
			lr := env.do("GET", "/api/gigs", nil)
			wantStatus(t, lr, http.StatusOK)
			lr.json(t, &list)
			found := false
			for _, lg := range list.Gigs {
				if lg.ID == g.ID {
					found = true
					if lg.TicketsSold != 2 || lg.SeatsLeft == nil || *lg.SeatsLeft != 0 {
						t.Fatalf("listed gig sold %d seats %v", lg.TicketsSold, lg.SeatsLeft)
					}
				}
			}
			if !found {
				t.Fatal("gig not listed")
			}
			// Unlimited: sold counts, seats_left stays absent.
			u := env.freeGig(0)
			env.book(u.ID, "Grace Hopper")
			r = env.do("GET", "/api/gigs/"+u.ID, nil)
			m := gigFields(t, r)
			if _, ok := m["seats_left"]; ok || m["tickets_sold"] != 1.0 {
				t.Fatalf("unlimited gig: %s", r.body)
			}
		})
	})
}

func TestBookFreeTicket(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		g := env.freeGig(0)
		other := env.freeGig(0)
		r := env.do("POST", "/api/gigs/"+g.ID+"/tickets", map[string]any{"name": "  Ada Lovelace ", "email": "ada@example.com"})
		wantStatus(t, r, http.StatusCreated)
		wantNoStore(t, r)
		var tr TicketResponse
		r.json(t, &tr)
		tk := tr.Ticket
		if !strings.HasPrefix(tr.TicketToken, ticket.TokenPrefix) || len(tr.TicketToken) < 40 {
			t.Fatalf("token %q", tr.TicketToken)
		}
		if tk.ID == "" || tk.GigID != g.ID || tk.Name != "Ada Lovelace" || tk.Email != "ada@example.com" ||
			tk.Status != ticket.StatusValid || tk.Kind != ticket.KindFree || tk.PaidMinor != 0 || tk.Currency != "EUR" ||
			time.Since(tk.CreatedAt) > time.Minute || !tk.EndedAt.IsZero() {
			t.Fatalf("ticket %+v", tk)
		}
		var raw struct {
			Ticket map[string]any `json:"ticket"`
		}
		r.json(t, &raw)
		for _, k := range []string{"id", "gig_id", "name", "email", "status", "kind", "paid_minor", "currency", "created_at"} {
			if _, ok := raw.Ticket[k]; !ok {
				t.Fatalf("ticket JSON lacks %q: %s", k, r.body)
			}
		}

		me := env.me(g.ID, tr.TicketToken)
		wantNoStore(t, me)
		if m := myTicket(t, me); m.Ticket.ID != tk.ID || m.WatchingElsewhere {
			t.Fatalf("tickets/me %s", me.body)
		}
		r = env.do("GET", "/api/gigs/"+g.ID+"/tickets/me?screen=page-1", nil, bearer(tr.TicketToken)...)
		if m := myTicket(t, r); m.WatchingElsewhere {
			t.Fatalf("no media session yet, but watching elsewhere: %s", r.body)
		}
		r = env.do("GET", "/api/gigs/"+g.ID+"/tickets/me?screen="+strings.Repeat("s", maxScreenLen), nil, bearer(tr.TicketToken)...)
		wantStatus(t, r, http.StatusOK)

		forged := []byte(tr.TicketToken)
		forged[len(forged)-2] ^= 1
		refusals := []struct {
			name         string
			gig, path    string
			hdr          []string
			status       int
			code, field  string
			wantAuthenty bool
		}{
			{"no token", g.ID, "", nil, 401, codeUnauthorized, "", true},
			{"basic auth", g.ID, "", []string{"Authorization", "Basic YTpi"}, 401, codeUnauthorized, "", true},
			{"forged token", g.ID, "", bearer(string(forged)), 401, codeInvalidTicket, "", true},
			{"random token", g.ID, "", bearer(ticket.TokenPrefix + strings.Repeat("A", 43)), 401, codeInvalidTicket, "", true},
			{"garbage", g.ID, "", bearer("nonsense"), 401, codeInvalidTicket, "", true},
			{"manage token is no ticket", g.ID, "", bearer(g.Credentials.ManageToken), 401, codeInvalidTicket, "", true},
			{"huge token", g.ID, "", bearer(ticket.TokenPrefix + strings.Repeat("x", 4000)), 401, codeInvalidTicket, "", true},
			{"other gig's ticket", other.ID, "", bearer(tr.TicketToken), 401, codeInvalidTicket, "", true},
			{"unknown gig", "aaaaaaaaaaaaaaaa", "", bearer(tr.TicketToken), 401, codeInvalidTicket, "", true},
			{"screen too long", g.ID, "?screen=" + strings.Repeat("s", maxScreenLen+1), bearer(tr.TicketToken), 400, codeValidation, "screen", false},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				r := env.do("GET", "/api/gigs/"+tc.gig+"/tickets/me"+tc.path, nil, tc.hdr...)
				wantError(t, r, tc.status, tc.code, tc.field)
				if tc.wantAuthenty && r.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			})
		}
		if l, _ := env.list(g); l.Sold != 1 || len(l.Tickets) != 1 {
			t.Fatalf("list after one booking: %+v", l)
		}
	})
}

func TestBookRefusals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		open := env.gig(map[string]any{"price_minor": 0})
		ended := env.freeGig(0)
		ctx := context.Background()
		if err := env.store.SetStatus(ctx, ended.ID, store.StatusLive, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := env.store.SetStatus(ctx, ended.ID, store.StatusEnded, time.Now()); err != nil {
			t.Fatal(err)
		}
		full := env.freeGig(1)
		env.book(full.ID, "First Fan")
		free := env.freeGig(0)

		valid := holder("Ada Lovelace")
		cases := []struct {
			name        string
			gig         CreateResponse
			gigID       string // overrides gig.ID
			body        any
			hdr         []string
			status      int
			code, field string
		}{
			{"open gig", open, "", valid, nil, 409, codeNotTicketed, ""},
			{"unknown gig", free, "aaaaaaaaaaaaaaaa", valid, nil, 404, codeNotFound, ""},
			{"odd gig id", free, "..%2F..%2Fetc", valid, nil, 404, codeNotFound, ""},
			{"ended gig", ended, "", valid, nil, 409, codeGigEnded, ""},
			{"sold out", full, "", valid, nil, 409, codeSoldOut, ""},
			{"empty name", free, "", map[string]any{"name": "  ", "email": "a@example.com"}, nil, 400, codeValidation, "name"},
			{"no name", free, "", map[string]any{"email": "a@example.com"}, nil, 400, codeValidation, "name"},
			{"huge name", free, "", map[string]any{"name": strings.Repeat("n", ticket.MaxNameLen+1), "email": "a@example.com"}, nil, 400, codeValidation, "name"},
			{"name with newline", free, "", map[string]any{"name": "Ada\nLovelace", "email": "a@example.com"}, nil, 400, codeValidation, "name"},
			{"name not a string", free, "", `{"name":5,"email":"a@example.com"}`, nil, 400, codeValidation, "name"},
			{"no email", free, "", map[string]any{"name": "Ada"}, nil, 400, codeValidation, "email"},
			{"bad email", free, "", map[string]any{"name": "Ada", "email": "not-an-email"}, nil, 400, codeValidation, "email"},
			{"email with display name", free, "", map[string]any{"name": "Ada", "email": "Ada <ada@example.com>"}, nil, 400, codeValidation, "email"},
			{"email without dotted domain", free, "", map[string]any{"name": "Ada", "email": "ada@localhost"}, nil, 400, codeValidation, "email"},
			{"huge email", free, "", map[string]any{"name": "Ada", "email": strings.Repeat("a", ticket.MaxEmailLen) + "@example.com"}, nil, 400, codeValidation, "email"},
			{"unknown field", free, "", map[string]any{"name": "Ada", "email": "a@example.com", "seats": 5}, nil, 400, codeValidation, "seats"},
			{"wrong content type", free, "", `{"name":"Ada","email":"a@example.com"}`, []string{"Content-Type", "text/plain"}, 415, codeMediaType, ""},
			{"no content type", free, "", `{"name":"Ada","email":"a@example.com"}`, []string{"Content-Type", ""}, 415, codeMediaType, ""},
			{"invalid JSON", free, "", `{"name":`, nil, 400, codeBadRequest, ""},
			{"not JSON", free, "", `name=Ada`, nil, 400, codeBadRequest, ""},
			{"empty body", free, "", ``, nil, 400, codeBadRequest, ""},
			{"array body", free, "", `[]`, nil, 400, codeBadRequest, ""},
			{"two objects", free, "", `{"name":"Ada","email":"a@example.com"}{}`, nil, 400, codeBadRequest, ""},
			{"body too large", free, "", `{"name":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `","email":"a@example.com"}`, nil, 413, codeTooLarge, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := tc.gig.ID
				if tc.gigID != "" {
					id = tc.gigID
				}
				r := env.do("POST", "/api/gigs/"+id+"/tickets", tc.body, tc.hdr...)
				wantError(t, r, tc.status, tc.code, tc.field)
				if strings.Contains(string(r.body), ticket.TokenPrefix) {
					t.Fatalf("a refusal carries a token: %s", r.body)
				}
			})
		}
		// Nothing was stored by any refusal.
		for _, g := range []CreateResponse{open, ended, free} {
			if l, _ := env.list(g); l.Sold != 0 || len(l.Tickets) != 0 {
				t.Fatalf("gig %s has tickets after refusals: %+v", g.Title, l)
			}
		}
		if l, _ := env.list(full); l.Sold != 1 || len(l.Tickets) != 1 {
			t.Fatalf("sold-out gig: %+v", l)
		}
	})
}

func TestCreatorTicketRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		g := env.freeGig(3)
		other := env.freeGig(0)
		mt := g.Credentials.ManageToken
		base := "/api/gigs/" + g.ID + "/tickets"
		free := env.book(g.ID, "Ada Lovelace")
		otherTicket := env.book(other.ID, "Alan Turing")

		// Listing needs the gig's own manage token.
		auth := []struct {
			name   string
			hdr    []string
			status int
			code   string
		}{
			{"no token", nil, 401, codeUnauthorized},
			{"other gig's token", bearer(other.Credentials.ManageToken), 403, codeForbidden},
			{"ticket token", bearer(free.TicketToken), 403, codeForbidden},
			{"garbage", bearer("mt_nope"), 403, codeForbidden},
		}
		for _, tc := range auth {
			t.Run("list "+tc.name, func(t *testing.T) {
				wantError(t, env.do("GET", base, nil, tc.hdr...), tc.status, tc.code, "")
				wantError(t, env.do("POST", base+"/comp", holder("Sneaky"), tc.hdr...), tc.status, tc.code, "")
				wantError(t, env.do("POST", base+"/"+free.Ticket.ID+"/revoke", nil, tc.hdr...), tc.status, tc.code, "")
				wantError(t, env.do("POST", base+"/"+free.Ticket.ID+"/refund", nil, tc.hdr...), tc.status, tc.code, "")
			})
		}
		l, lr := env.list(g)
		wantNoStore(t, lr)
		if l.Sold != 1 || l.Capacity != 3 || l.RevenueMinor != 0 || l.Currency != "EUR" || l.PaymentsEnabled || len(l.Tickets) != 1 || l.Tickets[0].ID != free.Ticket.ID {
			t.Fatalf("list %s", lr.body)
		}

		// Comp tickets: recorded at any price, nothing charged, so a comp's
		// recorded price is not revenue: revenue_minor counts money taken
		// (valid paid tickets) only.
		compIn := map[string]any{"name": "Guest Star", "email": "guest@example.com", "price_minor": 1500}
		r := env.do("POST", base+"/comp", compIn, bearer(mt)...)
		wantStatus(t, r, http.StatusCreated)
		wantNoStore(t, r)
		var comp TicketResponse
		r.json(t, &comp)
		if comp.Ticket.Kind != ticket.KindComp || comp.Ticket.PaidMinor != 1500 || comp.Ticket.Status != ticket.StatusValid ||
			comp.Ticket.Currency != "EUR" || comp.Ticket.Name != "Guest Star" || !strings.HasPrefix(comp.TicketToken, ticket.TokenPrefix) {
			t.Fatalf("comp %s", r.body)
		}
		if m := myTicket(t, env.me(g.ID, comp.TicketToken)); m.Ticket.Kind != ticket.KindComp {
			t.Fatalf("comp tickets/me %+v", m)
		}
		if l, _ := env.list(g); l.Sold != 2 || l.RevenueMinor != 0 || len(l.Tickets) != 2 || l.Tickets[1].ID != comp.Ticket.ID {
			t.Fatalf("list after comp %+v", l)
		}
		zero := env.do("POST", base+"/comp", holder("Free Guest"), bearer(mt)...)
		wantStatus(t, zero, http.StatusCreated)

		compBad := []struct {
			name  string
			body  any
			field string
		}{
			{"negative price", map[string]any{"name": "G", "email": "g@example.com", "price_minor": -1}, "price_minor"},
			{"huge price", map[string]any{"name": "G", "email": "g@example.com", "price_minor": store.MaxPriceMinor + 1}, "price_minor"},
			{"price not a number", `{"name":"G","email":"g@example.com","price_minor":"5"}`, "price_minor"},
			{"bad email", map[string]any{"name": "G", "email": "g@"}, "email"},
			{"no name", map[string]any{"email": "g@example.com"}, "name"},
			{"unknown field", map[string]any{"name": "G", "email": "g@example.com", "kind": "paid"}, "kind"},
		}
		for _, tc := range compBad {
			t.Run("comp "+tc.name, func(t *testing.T) {
				wantError(t, env.do("POST", base+"/comp", tc.body, bearer(mt)...), 400, codeValidation, tc.field)
			})
		}
		// Capacity 3 is now full: comp tickets respect it too.
		wantError(t, env.do("POST", base, holder("Late Fan")), 409, codeSoldOut, "")
		wantError(t, env.do("POST", base+"/comp", compIn, bearer(mt)...), 409, codeSoldOut, "")

		// Revoke: 200 revoked, then 409; the token stops working; the seat frees.
		r = env.do("POST", base+"/"+comp.Ticket.ID+"/revoke", nil, bearer(mt)...)
		wantStatus(t, r, http.StatusOK)
		var one OneTicketResponse
		r.json(t, &one)
		if one.Ticket.ID != comp.Ticket.ID || one.Ticket.Status != ticket.StatusRevoked || one.Ticket.EndedAt.IsZero() {
			t.Fatalf("revoke %s", r.body)
		}
		wantError(t, env.do("POST", base+"/"+comp.Ticket.ID+"/revoke", nil, bearer(mt)...), 409, codeConflict, "")
		wantError(t, env.me(g.ID, comp.TicketToken), 401, codeTicketRevoked, "")
		if l, _ := env.list(g); l.Sold != 2 || l.RevenueMinor != 0 || len(l.Tickets) != 3 {
			t.Fatalf("list after revoke %+v", l)
		}
		env.book(g.ID, "Late Fan")

		// Refund is for checkout payments only.
		wantError(t, env.do("POST", base+"/"+free.Ticket.ID+"/refund", nil, bearer(mt)...), 409, codeNotPaid, "")
		wantError(t, env.do("POST", base+"/"+comp.Ticket.ID+"/refund", nil, bearer(mt)...), 409, codeNotPaid, "")
		if m := myTicket(t, env.me(g.ID, free.TicketToken)); m.Ticket.Status != ticket.StatusValid {
			t.Fatalf("refused refund changed the ticket: %+v", m)
		}

		// Unknown tickets, and another gig's ticket under this gig.
		for _, id := range []string{"aaaaaaaaaaaaaaaa", "nope", otherTicket.Ticket.ID, strings.Repeat("a", 300)} {
			for _, op := range []string{"revoke", "refund"} {
				wantError(t, env.do("POST", base+"/"+id+"/"+op, nil, bearer(mt)...), 404, codeNotFound, "")
			}
		}
		if m := myTicket(t, env.me(other.ID, otherTicket.TicketToken)); m.Ticket.Status != ticket.StatusValid {
			t.Fatalf("other gig's ticket touched: %+v", m)
		}
		// Unknown gig with a manage token of nothing.
		wantError(t, env.do("GET", "/api/gigs/aaaaaaaaaaaaaaaa/tickets", nil, bearer(mt)...), 404, codeNotFound, "")
	})
}

func TestPaymentsDisabled(t *testing.T) {
	providers := []struct {
		name string
		pay  payFunc
	}{
		{"nil provider", nil},
		{"disabled provider", disabledPayments},
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, p := range providers {
			t.Run(p.name, func(t *testing.T) {
				env := newBookEnv(t, e, p.pay)
				g := env.paidGig(0)
				r := env.do("POST", "/api/gigs/"+g.ID+"/tickets", holder("Ada Lovelace"))
				wantError(t, r, http.StatusServiceUnavailable, codePaymentsOff, "")
				if msg := r.errBody(t).Message; !strings.Contains(msg, "--stripe-secret-key") {
					t.Fatalf("message does not say how to enable payments: %q", msg)
				}
				if r.header.Get("Retry-After") == "" {
					t.Fatal("503 without Retry-After")
				}
				body := paidEvent("evt_1", g.ID, "aaaaaaaaaaaaaaaa", "pi_1")
				wantError(t, env.webhook(body, ""), http.StatusServiceUnavailable, codePaymentsOff, "")
				l, _ := env.list(g)
				if l.PaymentsEnabled || l.Sold != 0 || len(l.Tickets) != 0 {
					t.Fatalf("list %+v", l)
				}
				// Comp tickets still work on a paid gig.
				r = env.do("POST", "/api/gigs/"+g.ID+"/tickets/comp", map[string]any{"name": "Guest", "email": "g@example.com", "price_minor": 2500}, bearer(g.Credentials.ManageToken)...)
				wantStatus(t, r, http.StatusCreated)
				if l, _ := env.list(g); l.Sold != 1 {
					t.Fatalf("list after comp %+v", l)
				}
				// Free ticketed gigs book as usual.
				env.book(env.freeGig(0).ID, "Ada Lovelace")
			})
		}
	})
}

// paidBooking books a paid gig and returns the pending booking.
func (env *bookEnv) paidBooking(gigID, name string) BookingResponse {
	env.t.Helper()
	r := env.do("POST", "/api/gigs/"+gigID+"/tickets", holder(name))
	wantStatus(env.t, r, http.StatusCreated)
	wantNoStore(env.t, r)
	var b BookingResponse
	r.json(env.t, &b)
	if b.BookingID == "" || b.Status != "pending" || !strings.HasPrefix(b.CheckoutURL, "http") || !strings.HasPrefix(b.TicketToken, ticket.TokenPrefix) {
		env.t.Fatalf("booking %s", r.body)
	}
	if strings.Contains(string(r.body), `"ticket":`) {
		env.t.Fatalf("a pending booking carries a ticket: %s", r.body)
	}
	return b
}

func TestPaidFlowStripe(t *testing.T) {
	base := startStripeMock(t)
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, stripePayments(base))
		g := env.paidGig(1)
		mt := g.Credentials.ManageToken
		a := env.paidBooking(g.ID, "Ada Lovelace")
		wantStatus(t, env.me(g.ID, a.TicketToken), http.StatusAccepted)
		var pending map[string]string
		env.me(g.ID, a.TicketToken).json(t, &pending)
		if pending["status"] != "pending" {
			t.Fatalf("pending body %v", pending)
		}
		if l, _ := env.list(g); !l.PaymentsEnabled || l.Sold != 0 || len(l.Tickets) != 0 {
			t.Fatalf("list before payment %+v", l)
		}
		// Both buyers get to checkout while the only seat is unsold.
		b := env.paidBooking(g.ID, "Alan Turing")

		evA := paidEvent("evt_a", g.ID, a.BookingID, "pi_a")
		if recv, refunded := webhookResult(t, env.webhook(evA, "")); !recv || refunded {
			t.Fatalf("webhook A received %v refunded %v", recv, refunded)
		}
		m := myTicket(t, env.me(g.ID, a.TicketToken))
		if m.Ticket.Kind != ticket.KindPaid || m.Ticket.PaidMinor != 2500 || m.Ticket.Currency != "EUR" || m.Ticket.Status != ticket.StatusValid || m.Ticket.Name != "Ada Lovelace" {
			t.Fatalf("paid ticket %+v", m.Ticket)
		}
		// Redelivery, as the same event or a new one for the same booking.
		for _, ev := range [][]byte{evA, paidEvent("evt_a2", g.ID, a.BookingID, "pi_a")} {
			if _, refunded := webhookResult(t, env.webhook(ev, "")); refunded {
				t.Fatal("redelivered event refunded")
			}
		}
		l, _ := env.list(g)
		if l.Sold != 1 || l.RevenueMinor != 2500 || len(l.Tickets) != 1 || l.Tickets[0].ID != m.Ticket.ID {
			t.Fatalf("list after payment %+v", l)
		}
		// B paid too, but the seat is gone: refunded, never oversold.
		if _, refunded := webhookResult(t, env.webhook(paidEvent("evt_b", g.ID, b.BookingID, "pi_b"), "")); !refunded {
			t.Fatal("webhook for a sold-out gig did not refund")
		}
		// B's payment is listed as a refunded ticket: no seat, no revenue.
		if l, _ := env.list(g); l.Sold != 1 || l.RevenueMinor != 2500 || len(l.Tickets) != 2 || l.Tickets[1].Status != ticket.StatusRefunded {
			t.Fatalf("oversold: %+v", l)
		}
		wantError(t, env.me(g.ID, b.TicketToken), 401, codeTicketRevoked, "")
		// Now sold out before checkout.
		wantError(t, env.do("POST", "/api/gigs/"+g.ID+"/tickets", holder("Late Fan")), 409, codeSoldOut, "")

		// Webhooks that are not Stripe's, or not ours to act on.
		now := time.Now()
		sigs := []struct {
			name string
			body []byte
			sig  string
			code string
		}{
			{"unsigned", evA, "-", codeInvalidSig},
			{"wrong secret", evA, payment.SignWebhook(evA, "whsec_other", now), codeInvalidSig},
			{"stale timestamp", evA, payment.SignWebhook(evA, testWebhookSecret, now.Add(-time.Hour)), codeInvalidSig},
			{"signed for another body", evA, payment.SignWebhook(paidEvent("evt_x", g.ID, b.BookingID, "pi_b"), testWebhookSecret, now), codeInvalidSig},
			{"garbage signature", evA, "t=1,v1=zz", codeInvalidSig},
			{"signed non-event", []byte(`{"hello":"world"}`), "", codeBadRequest},
			{"signed non-JSON", []byte(`not json`), "", codeBadRequest},
		}
		for _, tc := range sigs {
			t.Run(tc.name, func(t *testing.T) {
				sig := tc.sig
				if sig == "" {
					sig = payment.SignWebhook(tc.body, testWebhookSecret, time.Now())
				}
				if sig == "-" {
					r := env.do("POST", "/api/payments/stripe/webhook", string(tc.body))
					wantError(t, r, 400, tc.code, "")
					return
				}
				wantError(t, env.webhook(tc.body, sig), 400, tc.code, "")
			})
		}
		ignored := []struct {
			name string
			body []byte
		}{
			{"unpaid checkout", payment.CompletedEventJSON("evt_u", payment.Completed{GigID: g.ID, BookingID: b.BookingID, AmountMinor: 2500, Currency: "EUR"})},
			{"other event type", []byte(`{"id":"evt_o","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)},
		}
		for _, tc := range ignored {
			if recv, refunded := webhookResult(t, env.webhook(tc.body, "")); !recv || refunded {
				t.Fatalf("%s: received %v refunded %v", tc.name, recv, refunded)
			}
		}
		if l, _ := env.list(g); l.Sold != 1 || len(l.Tickets) != 2 {
			t.Fatalf("after ignored webhooks %+v", l)
		}

		// Refund through the API: the provider is called, the ticket ends.
		r := env.do("POST", "/api/gigs/"+g.ID+"/tickets/"+m.Ticket.ID+"/refund", nil, bearer(mt)...)
		wantStatus(t, r, http.StatusOK)
		var one OneTicketResponse
		r.json(t, &one)
		if one.Ticket.Status != ticket.StatusRefunded || one.Ticket.ID != m.Ticket.ID || one.Ticket.EndedAt.IsZero() {
			t.Fatalf("refund %s", r.body)
		}
		wantError(t, env.me(g.ID, a.TicketToken), 401, codeTicketRevoked, "")
		wantError(t, env.do("POST", "/api/gigs/"+g.ID+"/tickets/"+m.Ticket.ID+"/refund", nil, bearer(mt)...), 409, codeConflict, "")
		wantError(t, env.do("POST", "/api/gigs/"+g.ID+"/tickets/"+m.Ticket.ID+"/revoke", nil, bearer(mt)...), 409, codeConflict, "")
		if l, _ := env.list(g); l.Sold != 0 || l.RevenueMinor != 0 || len(l.Tickets) != 2 || l.Tickets[0].Status != ticket.StatusRefunded || l.Tickets[1].Status != ticket.StatusRefunded {
			t.Fatalf("list after refund %+v", l)
		}
		// A redelivered event for the refunded ticket does not revive it.
		webhookResult(t, env.webhook(evA, ""))
		wantError(t, env.me(g.ID, a.TicketToken), 401, codeTicketRevoked, "")

		// Payment for an unknown booking, and for a deleted gig: refunded.
		if _, refunded := webhookResult(t, env.webhook(paidEvent("evt_n", g.ID, "aaaaaaaaaaaaaaaa", "pi_n"), "")); !refunded {
			t.Fatal("payment for an unknown booking not refunded")
		}
		gone := env.paidGig(0)
		c := env.paidBooking(gone.ID, "Grace Hopper")
		wantStatus(t, env.do("DELETE", "/api/gigs/"+gone.ID, nil, bearer(gone.Credentials.ManageToken)...), http.StatusNoContent)
		if _, refunded := webhookResult(t, env.webhook(paidEvent("evt_c", gone.ID, c.BookingID, "pi_c"), "")); !refunded {
			t.Fatal("payment for a deleted gig not refunded")
		}
		wantError(t, env.me(gone.ID, c.TicketToken), 401, codeInvalidTicket, "")
	})
}

// TestBookingSecretsNeverLeak: no ticket token, manage token or Stripe
// secret reaches the logs; the creator's list never carries a token.
func TestBookingSecretsNeverLeak(t *testing.T) {
	base := startStripeMock(t)
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, stripePayments(base))
		free := env.freeGig(0)
		paid := env.paidGig(0)
		mt := free.Credentials.ManageToken
		secrets := []string{testStripeKey, testWebhookSecret, mt, paid.Credentials.ManageToken, free.Credentials.StreamKey}
		t1 := env.book(free.ID, "Ada Lovelace")
		secrets = append(secrets, t1.TicketToken)
		r := env.do("POST", "/api/gigs/"+free.ID+"/tickets/comp", holder("Guest Star"), bearer(mt)...)
		var comp TicketResponse
		r.json(t, &comp)
		secrets = append(secrets, comp.TicketToken)
		b := env.paidBooking(paid.ID, "Alan Turing")
		secrets = append(secrets, b.TicketToken)
		webhookResult(t, env.webhook(paidEvent("evt_s", paid.ID, b.BookingID, "pi_s"), ""))
		paidTicket := myTicket(t, env.me(paid.ID, b.TicketToken)).Ticket

		// Exercise the refusals and the creator routes with the secrets in hand.
		env.me(free.ID, t1.TicketToken)
		env.me(free.ID, t1.TicketToken+"x")
		env.me(paid.ID, t1.TicketToken)
		env.do("GET", "/api/gigs/"+free.ID+"/tickets?token="+mt, nil)
		env.do("GET", "/api/gigs/"+free.ID+"/tickets/me?ticket="+t1.TicketToken, nil)
		env.webhook([]byte(`{}`), "t=1,v1=00")
		env.do("POST", "/api/gigs/"+free.ID+"/tickets/"+comp.Ticket.ID+"/revoke", nil, bearer(mt)...)
		wantStatus(t, env.do("POST", "/api/gigs/"+paid.ID+"/tickets/"+paidTicket.ID+"/refund", nil, bearer(paid.Credentials.ManageToken)...), http.StatusOK)

		bodies := []response{
			env.do("GET", "/api/gigs/"+free.ID+"/tickets", nil, bearer(mt)...),
			env.do("GET", "/api/gigs/"+paid.ID+"/tickets", nil, bearer(paid.Credentials.ManageToken)...),
			env.do("GET", "/api/gigs", nil),
			env.do("GET", "/api/gigs/"+free.ID, nil),
			env.me(free.ID, t1.TicketToken),
		}
		for _, b := range bodies {
			wantStatus(t, b, http.StatusOK)
			if strings.Contains(string(b.body), ticket.TokenPrefix) || strings.Contains(string(b.body), "pi_s") ||
				strings.Contains(string(b.body), "token_hash") || strings.Contains(string(b.body), "payment_ref") {
				t.Fatalf("secret material in a body: %s", b.body)
			}
		}
		time.Sleep(20 * time.Millisecond) // the last log line is written after the response
		logs := env.logs.String()
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Fatalf("secret %.6s... in logs:\n%s", s, logs)
			}
		}
		if strings.Contains(logs, ticket.TokenPrefix) || strings.Contains(logs, "Bearer") || strings.Contains(logs, "ada@example.com") {
			t.Fatalf("token, auth header or email in logs:\n%s", logs)
		}
		for _, want := range []string{"ticket booked", "paid ticket issued", "ticket refunded", "ticket revoked"} {
			if !strings.Contains(logs, want) {
				t.Fatalf("log lacks %q:\n%s", want, logs)
			}
		}
	})
}

func TestDeleteGigRemovesTickets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		g := env.freeGig(5)
		keep := env.freeGig(5)
		tk := env.book(g.ID, "Ada Lovelace")
		kept := env.book(keep.ID, "Alan Turing")
		r := env.do("POST", "/api/gigs/"+g.ID+"/tickets/comp", holder("Guest Star"), bearer(g.Credentials.ManageToken)...)
		wantStatus(t, r, http.StatusCreated)
		var comp TicketResponse
		r.json(t, &comp)
		myTicket(t, env.me(g.ID, tk.TicketToken))

		wantStatus(t, env.do("DELETE", "/api/gigs/"+g.ID, nil, bearer(g.Credentials.ManageToken)...), http.StatusNoContent)
		for _, tok := range []string{tk.TicketToken, comp.TicketToken} {
			wantError(t, env.me(g.ID, tok), 401, codeInvalidTicket, "")
		}
		wantError(t, env.do("POST", "/api/gigs/"+g.ID+"/tickets", holder("Late Fan")), 404, codeNotFound, "")
		wantError(t, env.do("GET", "/api/gigs/"+g.ID+"/tickets", nil, bearer(g.Credentials.ManageToken)...), 404, codeNotFound, "")
		if l, err := env.tickets.List(context.Background(), g.ID); err != nil || len(l) != 0 {
			t.Fatalf("tickets of a deleted gig: %v %v", l, err)
		}
		// The other gig keeps its ticket.
		myTicket(t, env.me(keep.ID, kept.TicketToken))

		if env.redis != nil {
			c := redis.NewClient(&redis.Options{Addr: env.redis.Addr})
			defer c.Close()
			keys, err := c.Keys(context.Background(), "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			tokens := 0
			for _, k := range keys {
				if strings.Contains(k, g.ID) {
					t.Fatalf("key %q of the deleted gig left in Redis", k)
				}
				if strings.HasPrefix(k, "bmg:ticket_token:") {
					tokens++
				}
			}
			if tokens != 1 {
				t.Fatalf("%d token keys left, want the other gig's 1: %v", tokens, keys)
			}
		}
	})
}

// TestTicketScreenAndRevoke: tickets/me tells a page whether it is still
// the ticket's screen, and revoking through the API ends the ticket's live
// sessions at once.
func TestTicketScreenAndRevoke(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		g := env.freeGig(0)
		tk := env.book(g.ID, "Ada Lovelace")
		ctx := context.Background()
		admit := func(kind access.Kind, screen string) *access.Pass {
			t.Helper()
			p, err := env.gate.Admit(ctx, access.Request{GigID: g.ID, Credential: tk.TicketToken, Kind: kind, Screen: screen})
			if err != nil {
				t.Fatalf("admit %s: %v", screen, err)
			}
			t.Cleanup(p.Release)
			return p
		}
		elsewhere := func(screen string) bool {
			t.Helper()
			r := env.do("GET", "/api/gigs/"+g.ID+"/tickets/me?screen="+screen, nil, bearer(tk.TicketToken)...)
			return myTicket(t, r).WatchingElsewhere
		}
		first := admit(access.Media, "screen-a")
		if elsewhere("screen-a") {
			t.Fatal("the current screen is told it watches elsewhere")
		}
		if !elsewhere("screen-b") {
			t.Fatal("another screen is not told")
		}
		chat := admit(access.Chat, "screen-a")
		admit(access.Media, "screen-b")
		select {
		case <-first.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("the first screen still plays after a second admission")
		}
		if !elsewhere("screen-a") || elsewhere("screen-b") {
			t.Fatal("watching_elsewhere did not follow the newer screen")
		}

		r := env.do("POST", "/api/gigs/"+g.ID+"/tickets/"+tk.Ticket.ID+"/revoke", nil, bearer(g.Credentials.ManageToken)...)
		wantStatus(t, r, http.StatusOK)
		select {
		case <-chat.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("chat of a revoked ticket still open after 2 s")
		}
		if _, err := env.gate.Admit(ctx, access.Request{GigID: g.ID, Credential: tk.TicketToken, Kind: access.Media}); err == nil {
			t.Fatal("a revoked ticket was admitted again")
		}
	})
}

// TestBookingCapacityUnderConcurrency: concurrent bookings through the API
// never sell more seats than the gig has.
func TestBookingCapacityUnderConcurrency(t *testing.T) {
	const seats, buyers = 10, 40
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newBookEnv(t, e, nil)
		g := env.freeGig(seats)
		codes := make(chan int, buyers)
		var wg sync.WaitGroup
		for i := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := strings.NewReader(`{"name":"Fan ` + strconv.Itoa(i) + `","email":"fan` + strconv.Itoa(i) + `@example.com"}`)
				res, err := env.srv.Client().Post(env.srv.URL+"/api/gigs/"+g.ID+"/tickets", "application/json", body)
				if err != nil {
					codes <- 0
					return
				}
				_ = res.Body.Close()
				codes <- res.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		if count[http.StatusCreated] != seats || count[http.StatusConflict] != buyers-seats {
			t.Fatalf("answers %v, want %d × 201 and %d × 409", count, seats, buyers-seats)
		}
		if l, _ := env.list(g); l.Sold != seats || len(l.Tickets) != seats {
			t.Fatalf("list %+v", l)
		}
	})
}

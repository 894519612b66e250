package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bookmygig/bookmygig/internal/secret"
)

// nodesFunc returns two handles on one fresh, empty store: on Redis, two
// stores with their own connection pools (two nodes); in memory, the same
// store twice.
type nodesFunc func(t *testing.T) (Store, Store)

const gigA, gigB = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"

func ada() Holder { return Holder{Name: "Ada Lovelace", Email: "ada@example.com"} }

func freeIssue(gig string, capacity int) Issue {
	return Issue{GigID: gig, Capacity: capacity, Holder: ada(), Kind: KindFree, Currency: "USD"}
}

func mustIssue(t testing.TB, s Store, in Issue) (Ticket, string) {
	t.Helper()
	tk, tok, err := s.Issue(context.Background(), in)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	return tk, tok
}

func wantFieldErr(t testing.TB, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want *FieldError for %q", err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError names %q (%s), want %q", fe.Field, fe.Message, field)
	}
}

func runContract(t *testing.T, nodes nodesFunc) {
	ctx := context.Background()

	t.Run("IssueAuthenticateGetList", func(t *testing.T) {
		s, _ := nodes(t)
		tk, tok := mustIssue(t, s, Issue{GigID: gigA, Holder: Holder{Name: "  Ada  ", Email: " ada@example.com "}, Kind: KindFree, Currency: "usd"})
		if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != 46 || !secret.ValidID(tk.ID) {
			t.Fatalf("token %d chars, id %q", len(tok), tk.ID)
		}
		if tk.Name != "Ada" || tk.Email != "ada@example.com" || tk.Status != StatusValid || tk.Kind != KindFree ||
			tk.GigID != gigA || tk.Currency != "USD" || tk.CreatedAt.IsZero() {
			t.Fatalf("ticket %+v", tk)
		}
		got, err := s.Authenticate(ctx, gigA, tok)
		if err != nil || got.ID != tk.ID || got.Status != StatusValid || got.Name != "Ada" {
			t.Fatalf("authenticate: %+v, %v", got, err)
		}
		if g, err := s.Get(ctx, gigA, tk.ID); err != nil || !g.CreatedAt.Equal(tk.CreatedAt) || g.Email != tk.Email {
			t.Fatalf("get: %+v, %v", g, err)
		}
		if l, err := s.List(ctx, gigA); err != nil || len(l) != 1 || l[0].ID != tk.ID {
			t.Fatalf("list: %+v, %v", l, err)
		}
		if l, err := s.List(ctx, gigB); err != nil || l == nil || len(l) != 0 {
			t.Fatalf("list of an empty gig: %#v, %v (want an empty, non-nil slice)", l, err)
		}
		for name, c := range map[string]struct{ gig, tok string }{
			"other gig":   {gigB, tok},
			"unknown":     {gigA, secret.New(TokenPrefix)},
			"garbage":     {gigA, "hello"},
			"empty":       {gigA, ""},
			"forged":      {gigA, forge(tok)},
			"bad gig id":  {"../x", tok},
			"manage-like": {gigA, "mt_" + tok[3:]},
		} {
			if _, err := s.Authenticate(ctx, c.gig, c.tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: authenticate err %v, want ErrInvalidToken", name, err)
			}
		}
		if _, err := s.Get(ctx, gigA, "zzzzzzzzzzzzzzzz"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get unknown: %v", err)
		}
		if _, err := s.Get(ctx, gigB, tk.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get from another gig: %v", err)
		}
	})

	t.Run("ConcurrentIssueHoldsCapacity", func(t *testing.T) {
		n1, n2 := nodes(t)
		const seats, buyers = 100, 500
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			ok, sold, other int
			tokens          = map[string]bool{}
		)
		for i := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := n1
				if i%2 == 1 {
					s = n2
				}
				in := freeIssue(gigA, seats)
				in.Holder.Name = fmt.Sprintf("buyer %d", i)
				_, tok, err := s.Issue(ctx, in)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
					tokens[tok] = true
				case errors.Is(err, ErrSoldOut):
					sold++
				default:
					other++
					t.Errorf("issue: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != seats || sold != buyers-seats || other != 0 || len(tokens) != seats {
			t.Fatalf("%d tickets (%d distinct tokens), %d sold out, %d other errors; want %d and %d", ok, len(tokens), sold, other, seats, buyers-seats)
		}
		if l, _ := n1.List(ctx, gigA); len(l) != seats {
			t.Fatalf("list has %d tickets", len(l))
		}
		if c, _ := n2.Counts(ctx, gigA); c.Sold != seats {
			t.Fatalf("counts %+v", c)
		}
		// Unlimited gigs never sell out.
		if _, _, err := n1.Issue(ctx, freeIssue(gigB, 0)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ConcurrentConfirmHoldsCapacity", func(t *testing.T) {
		n1, n2 := nodes(t)
		const seats, buyers = 100, 500
		ids := make([]string, buyers)
		for i := range ids {
			b, _, err := n1.Reserve(ctx, gigA, ada(), 1500, "usd")
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = b.ID
		}
		// A few free tickets compete for the same seats.
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, sold := 0, 0
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := n1
				if i%2 == 1 {
					s = n2
				}
				tk, c, err := s.Confirm(ctx, gigA, id, seats, "pi_"+id)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && c && tk.Status == StatusValid:
					created++
				case errors.Is(err, ErrSoldOut) && c && tk.Status == StatusRefunded && tk.PaymentRef == "pi_"+id:
					sold++
				default:
					t.Errorf("confirm: created=%v err=%v", c, err)
				}
			}()
		}
		wg.Wait()
		if created != seats || sold != buyers-seats {
			t.Fatalf("%d confirmed, %d sold out; want %d and %d", created, sold, seats, buyers-seats)
		}
		c, _ := n1.Counts(ctx, gigA)
		if c.Sold != seats || c.RevenueMinor != seats*1500 {
			t.Fatalf("counts %+v", c)
		}
		// Every payment is accounted for: a seat or a refunded ticket.
		if l, _ := n2.List(ctx, gigA); len(l) != buyers {
			t.Fatalf("list has %d tickets, want %d", len(l), buyers)
		}
		if _, _, err := n2.Issue(ctx, freeIssue(gigA, seats)); !errors.Is(err, ErrSoldOut) {
			t.Fatalf("issue after a sold-out confirm run: %v", err)
		}
	})

	t.Run("ConfirmIsIdempotent", func(t *testing.T) {
		n1, n2 := nodes(t)
		b, tok, err := n1.Reserve(ctx, gigA, ada(), 2500, "eur")
		if err != nil {
			t.Fatal(err)
		}
		if b.AmountMinor != 2500 || b.Currency != "EUR" || b.Holder != ada() || b.GigID != gigA || !secret.ValidID(b.ID) {
			t.Fatalf("booking %+v", b)
		}
		if !strings.HasPrefix(tok, TokenPrefix) {
			t.Fatal("booking token without prefix")
		}
		if _, err := n2.Authenticate(ctx, gigA, tok); !errors.Is(err, ErrPending) {
			t.Fatalf("pending token: %v, want ErrPending", err)
		}
		if _, err := n2.Authenticate(ctx, gigB, tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("pending token on another gig: %v", err)
		}
		if l, _ := n1.List(ctx, gigA); len(l) != 0 {
			t.Fatalf("a pending booking is listed as a ticket: %+v", l)
		}
		// Ten deliveries of the same webhook, on two nodes, at once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var tickets []Ticket
		createdN := 0
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := n1
				if i%2 == 1 {
					s = n2
				}
				tk, c, err := s.Confirm(ctx, gigA, b.ID, 10, "pi_123")
				if err != nil {
					t.Errorf("confirm: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				tickets = append(tickets, tk)
				if c {
					createdN++
				}
			}()
		}
		wg.Wait()
		if createdN != 1 || len(tickets) != 10 {
			t.Fatalf("%d of %d confirmations created a ticket, want 1", createdN, len(tickets))
		}
		for _, tk := range tickets {
			if tk.ID != b.ID || tk.Kind != KindPaid || tk.PaidMinor != 2500 || tk.Currency != "EUR" ||
				tk.PaymentRef != "pi_123" || tk.Status != StatusValid || !tk.CreatedAt.Equal(tickets[0].CreatedAt) {
				t.Fatalf("confirmed ticket %+v", tk)
			}
		}
		got, err := n1.Authenticate(ctx, gigA, tok)
		if err != nil || got.ID != b.ID || got.Status != StatusValid {
			t.Fatalf("authenticate confirmed: %+v %v", got, err)
		}
		if c, _ := n2.Counts(ctx, gigA); c.Sold != 1 || c.RevenueMinor != 2500 {
			t.Fatalf("counts %+v", c)
		}
		// Still idempotent after the ticket ended.
		if _, err := n1.End(ctx, gigA, b.ID, StatusRefunded); err != nil {
			t.Fatal(err)
		}
		tk, c, err := n2.Confirm(ctx, gigA, b.ID, 10, "pi_other")
		if err != nil || c || tk.Status != StatusRefunded || tk.PaymentRef != "pi_123" {
			t.Fatalf("confirm after refund: %+v created=%v %v", tk, c, err)
		}
	})

	t.Run("ConfirmErrors", func(t *testing.T) {
		s, _ := nodes(t)
		if _, _, err := s.Confirm(ctx, gigA, secret.NewID(), 0, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown booking: %v", err)
		}
		if _, _, err := s.Confirm(ctx, gigA, "../../x", 0, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bad booking id: %v", err)
		}
		b, tok, _ := s.Reserve(ctx, gigA, ada(), 100, "USD")
		if _, _, err := s.Confirm(ctx, gigB, b.ID, 0, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("booking confirmed on another gig: %v", err)
		}
		if _, err := s.Authenticate(ctx, gigA, tok); !errors.Is(err, ErrPending) {
			t.Fatalf("pending token: %v", err)
		}
		if _, _, err := s.Reserve(ctx, gigA, ada(), 0, "USD"); err == nil {
			t.Fatal("a zero-amount booking was accepted")
		}
	})

	// A buyer who pays for the last seat while someone else takes it is
	// refunded, and their booking becomes a refunded ticket in the same
	// step: the token answers "refunded" at once, and no later delivery of
	// the webhook (even with seats free again) turns it into a seat.
	t.Run("SoldOutConfirmRefunds", func(t *testing.T) {
		n1, n2 := nodes(t)
		b, tok, err := n1.Reserve(ctx, gigA, ada(), 2500, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		seat, _ := mustIssue(t, n1, freeIssue(gigA, 1))
		tk, created, err := n2.Confirm(ctx, gigA, b.ID, 1, "pi_b")
		if !errors.Is(err, ErrSoldOut) || !created {
			t.Fatalf("confirm on a full gig: created=%v %v, want created and ErrSoldOut", created, err)
		}
		if tk.ID != b.ID || tk.GigID != gigA || tk.Status != StatusRefunded || tk.Kind != KindPaid || tk.PaidMinor != 2500 ||
			tk.Currency != "EUR" || tk.PaymentRef != "pi_b" || tk.EndedAt.IsZero() || tk.CreatedAt.IsZero() || tk.Name != ada().Name {
			t.Fatalf("sold-out confirm returned %+v", tk)
		}
		got, err := n1.Authenticate(ctx, gigA, tok)
		if err != nil || got.ID != b.ID || got.Status != StatusRefunded || !got.EndedAt.Equal(tk.EndedAt) {
			t.Fatalf("token of a refunded booking: %+v %v, want the refunded ticket", got, err)
		}
		if g, err := n2.Get(ctx, gigA, b.ID); err != nil || g.Status != StatusRefunded || g.PaymentRef != "pi_b" {
			t.Fatalf("get: %+v %v", g, err)
		}
		if l, _ := n1.List(ctx, gigA); len(l) != 2 {
			t.Fatalf("list %+v, want the free ticket and the refunded one", l)
		}
		if c, _ := n2.Counts(ctx, gigA); c != (Counts{Sold: 1}) {
			t.Fatalf("counts %+v: a refunded booking is neither a seat nor revenue", c)
		}
		if _, err := n1.End(ctx, gigA, b.ID, StatusRevoked); !errors.Is(err, ErrConflict) {
			t.Fatalf("ending the refunded ticket: %v", err)
		}
		// The seat frees up; the webhook is delivered again, on both nodes
		// at once: still refunded, nothing created, no error.
		if _, err := n1.End(ctx, gigA, seat.ID, StatusRevoked); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := n1
				if i%2 == 1 {
					s = n2
				}
				again, c, err := s.Confirm(ctx, gigA, b.ID, 1, "pi_other")
				if err != nil || c || again.Status != StatusRefunded || again.PaymentRef != "pi_b" ||
					!again.EndedAt.Equal(tk.EndedAt) || !again.CreatedAt.Equal(tk.CreatedAt) {
					t.Errorf("redelivery after a seat freed: %+v created=%v %v", again, c, err)
				}
			}()
		}
		wg.Wait()
		if got, err := n2.Authenticate(ctx, gigA, tok); err != nil || got.Status != StatusRefunded {
			t.Fatalf("token after redelivery: %+v %v", got, err)
		}
		if c, _ := n1.Counts(ctx, gigA); c != (Counts{}) {
			t.Fatalf("counts after redelivery %+v", c)
		}
		if _, _, err := n2.Issue(ctx, freeIssue(gigA, 1)); err != nil {
			t.Fatalf("the freed seat went to the refunded buyer: %v", err)
		}
	})

	// Concurrent deliveries of one webhook on a full gig: one refunds
	// (created, ErrSoldOut), the others find the refunded ticket.
	t.Run("SoldOutConfirmOnce", func(t *testing.T) {
		n1, n2 := nodes(t)
		b, _, _ := n1.Reserve(ctx, gigA, ada(), 900, "USD")
		mustIssue(t, n1, freeIssue(gigA, 1))
		var wg sync.WaitGroup
		var mu sync.Mutex
		refunds := 0
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := n1
				if i%2 == 1 {
					s = n2
				}
				tk, c, err := s.Confirm(ctx, gigA, b.ID, 1, "pi_1")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case c && errors.Is(err, ErrSoldOut):
					refunds++
				case !c && err == nil:
				default:
					t.Errorf("confirm: created=%v %v", c, err)
				}
				if tk.ID != b.ID || tk.Status != StatusRefunded {
					t.Errorf("confirm returned %+v", tk)
				}
			}()
		}
		wg.Wait()
		if refunds != 1 {
			t.Fatalf("%d deliveries reported a fresh refund, want 1", refunds)
		}
	})

	// Revenue is money taken: valid paid tickets only. Comp tickets record
	// a price nobody was charged; free ones are 0.
	t.Run("CountsRevenue", func(t *testing.T) {
		n1, n2 := nodes(t)
		if c, err := n1.Counts(ctx, gigA); err != nil || c != (Counts{}) {
			t.Fatalf("counts of a gig without tickets: %+v %v", c, err)
		}
		mustIssue(t, n1, freeIssue(gigA, 0))
		comp, _ := mustIssue(t, n2, Issue{GigID: gigA, Holder: ada(), Kind: KindComp, PaidMinor: 700, Currency: "USD"})
		paid, _ := mustIssue(t, n1, Issue{GigID: gigA, Holder: ada(), Kind: KindPaid, PaidMinor: 900, Currency: "USD"})
		b, _, _ := n2.Reserve(ctx, gigA, ada(), 2500, "USD")
		if _, _, err := n1.Confirm(ctx, gigA, b.ID, 0, "pi"); err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			end   string
			to    Status
			count Counts
		}{
			{"", "", Counts{Sold: 4, RevenueMinor: 3400}},
			{comp.ID, StatusRevoked, Counts{Sold: 3, RevenueMinor: 3400}},
			{paid.ID, StatusRefunded, Counts{Sold: 2, RevenueMinor: 2500}},
			{b.ID, StatusRevoked, Counts{Sold: 1}},
		} {
			if want.end != "" {
				if _, err := n2.End(ctx, gigA, want.end, want.to); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range []Store{n1, n2} {
				if c, err := s.Counts(ctx, gigA); err != nil || c != want.count {
					t.Fatalf("after ending %q: counts %+v %v, want %+v", want.end, c, err, want.count)
				}
			}
		}
		if c, _ := n1.Counts(ctx, gigB); c != (Counts{}) {
			t.Fatalf("another gig's counts %+v", c)
		}
	})

	t.Run("EndFreesSeat", func(t *testing.T) {
		s, _ := nodes(t)
		t1, tok1 := mustIssue(t, s, Issue{GigID: gigA, Capacity: 2, Holder: ada(), Kind: KindComp, PaidMinor: 700, Currency: "USD"})
		mustIssue(t, s, freeIssue(gigA, 2))
		if _, _, err := s.Issue(ctx, freeIssue(gigA, 2)); !errors.Is(err, ErrSoldOut) {
			t.Fatalf("third seat of two: %v", err)
		}
		if c, _ := s.Counts(ctx, gigA); c.Sold != 2 || c.RevenueMinor != 0 {
			t.Fatalf("counts %+v (a comp ticket's price is not revenue)", c)
		}
		ended, err := s.End(ctx, gigA, t1.ID, StatusRevoked)
		if err != nil || ended.Status != StatusRevoked || ended.EndedAt.IsZero() || ended.Name != t1.Name {
			t.Fatalf("end: %+v %v", ended, err)
		}
		if c, _ := s.Counts(ctx, gigA); c.Sold != 1 || c.RevenueMinor != 0 {
			t.Fatalf("counts after revoke %+v", c)
		}
		if _, _, err := s.Issue(ctx, freeIssue(gigA, 2)); err != nil {
			t.Fatalf("the revoked seat is not free: %v", err)
		}
		got, err := s.Authenticate(ctx, gigA, tok1)
		if err != nil || got.Status != StatusRevoked || !got.EndedAt.Equal(ended.EndedAt) {
			t.Fatalf("authenticate revoked: %+v %v", got, err)
		}
		if _, err := s.End(ctx, gigA, t1.ID, StatusRefunded); !errors.Is(err, ErrConflict) {
			t.Fatalf("ending twice: %v", err)
		}
		if _, err := s.End(ctx, gigA, secret.NewID(), StatusRevoked); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ending unknown: %v", err)
		}
		if _, err := s.End(ctx, gigB, t1.ID, StatusRevoked); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ending on another gig: %v", err)
		}
		_, err = s.End(ctx, gigA, t1.ID, StatusValid)
		wantFieldErr(t, err, "status")
		if c, _ := s.Counts(ctx, gigA); c.Sold != 2 {
			t.Fatalf("counts %+v", c)
		}
	})

	t.Run("DeleteGig", func(t *testing.T) {
		s, _ := nodes(t)
		ta, tokA := mustIssue(t, s, freeIssue(gigA, 0))
		ba, btokA, _ := s.Reserve(ctx, gigA, ada(), 100, "USD")
		_, tokB := mustIssue(t, s, freeIssue(gigB, 0))
		if err := s.DeleteGig(ctx, gigA); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.List(ctx, gigA); len(l) != 0 {
			t.Fatalf("list after delete: %+v", l)
		}
		for _, tok := range []string{tokA, btokA} {
			if _, err := s.Authenticate(ctx, gigA, tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("token of a deleted gig: %v", err)
			}
		}
		if _, err := s.Get(ctx, gigA, ta.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if _, _, err := s.Confirm(ctx, gigA, ba.ID, 0, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("confirm after delete: %v", err)
		}
		if c, _ := s.Counts(ctx, gigA); c != (Counts{}) {
			t.Fatalf("counts after delete: %+v", c)
		}
		if _, err := s.Authenticate(ctx, gigB, tokB); err != nil {
			t.Fatalf("another gig's ticket: %v", err)
		}
		if err := s.DeleteGig(ctx, gigA); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
		// A deleted gig starts again from zero seats sold.
		if _, _, err := s.Issue(ctx, freeIssue(gigA, 1)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("BadInputStoresNothing", func(t *testing.T) {
		s, _ := nodes(t)
		long := strings.Repeat("é", MaxNameLen+1)
		huge := strings.Repeat("x", 1<<20)
		for _, c := range []struct {
			name  string
			in    Issue
			field string
		}{
			{"name too long", Issue{GigID: gigA, Holder: Holder{Name: long, Email: "a@example.com"}, Kind: KindFree}, "name"},
			{"huge name", Issue{GigID: gigA, Holder: Holder{Name: huge, Email: "a@example.com"}, Kind: KindFree}, "name"},
			{"huge email", Issue{GigID: gigA, Holder: Holder{Name: "A", Email: huge + "@example.com"}, Kind: KindFree}, "email"},
			{"bad email", Issue{GigID: gigA, Holder: Holder{Name: "A", Email: "not-an-email"}, Kind: KindFree}, "email"},
			{"bad kind", Issue{GigID: gigA, Holder: ada(), Kind: "gift"}, "kind"},
			{"negative price", Issue{GigID: gigA, Holder: ada(), Kind: KindComp, PaidMinor: -1}, "price_minor"},
			{"negative capacity", Issue{GigID: gigA, Holder: ada(), Kind: KindFree, Capacity: -1}, "capacity"},
			{"bad currency", Issue{GigID: gigA, Holder: ada(), Kind: KindFree, Currency: "US$"}, "currency"},
		} {
			_, tok, err := s.Issue(ctx, c.in)
			wantFieldErr(t, err, c.field)
			if tok != "" {
				t.Fatalf("%s: token handed out", c.name)
			}
			_, _, err = s.Reserve(ctx, gigA, c.in.Holder, 100, "USD")
			if c.field == "name" || c.field == "email" {
				wantFieldErr(t, err, c.field)
			}
		}
		if _, _, err := s.Issue(ctx, Issue{GigID: "a:b", Holder: ada(), Kind: KindFree}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bad gig id: %v", err)
		}
		if l, _ := s.List(ctx, gigA); len(l) != 0 {
			t.Fatalf("bad input stored tickets: %+v", l)
		}
	})

	t.Run("TokensNeverListed", func(t *testing.T) {
		s, _ := nodes(t)
		var toks []string
		_, tok := mustIssue(t, s, freeIssue(gigA, 0))
		toks = append(toks, tok)
		b, btok, _ := s.Reserve(ctx, gigA, ada(), 100, "USD")
		toks = append(toks, btok)
		if _, _, err := s.Confirm(ctx, gigA, b.ID, 0, "pi_secret_ref"); err != nil {
			t.Fatal(err)
		}
		l, _ := s.List(ctx, gigA)
		data, _ := json.Marshal(map[string]any{"tickets": l, "booking": b})
		text := string(data) + fmt.Sprintf("%+v %v", l, b)
		for _, tok := range toks {
			if strings.Contains(text, tok) || strings.Contains(text, secret.Hash(tok)) {
				t.Fatalf("a token or its hash appears in list output: %s", text)
			}
		}
		if strings.Contains(string(data), TokenPrefix) || strings.Contains(string(data), "pi_secret_ref") {
			t.Fatalf("list JSON carries a token or payment reference: %s", data)
		}
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		s, _ := nodes(t)
		for i := range 20 {
			in := freeIssue(gigA, 0)
			in.Holder.Name = fmt.Sprint("n", i)
			mustIssue(t, s, in)
		}
		l, _ := s.List(ctx, gigA)
		for i := 1; i < len(l); i++ {
			if l[i].CreatedAt.Before(l[i-1].CreatedAt) {
				t.Fatalf("list not oldest first at %d", i)
			}
		}
	})
}

// forge changes a token's last character.
func forge(tok string) string {
	last := byte('A')
	if tok[len(tok)-1] == 'A' {
		last = 'B'
	}
	return tok[:len(tok)-1] + string(last)
}

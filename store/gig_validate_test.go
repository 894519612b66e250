package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type invalidCase struct {
	name  string
	in    GigInput
	field string
}

func with(f func(*GigInput)) GigInput {
	in := validInput()
	f(&in)
	return in
}

func invalidInputs() []invalidCase {
	return []invalidCase{
		{"empty creator", with(func(in *GigInput) { in.CreatorName = "   " }), "creator_name"},
		{"long creator", with(func(in *GigInput) { in.CreatorName = strings.Repeat("é", 81) }), "creator_name"},
		{"empty title", with(func(in *GigInput) { in.Title = "" }), "title"},
		{"long title", with(func(in *GigInput) { in.Title = strings.Repeat("a", 121) }), "title"},
		{"control char in title", with(func(in *GigInput) { in.Title = "a\x00b" }), "title"},
		{"newline in title", with(func(in *GigInput) { in.Title = "a\nb" }), "title"},
		{"escape in creator", with(func(in *GigInput) { in.CreatorName = "a\x1b[31m" }), "creator_name"},
		{"invalid utf8", with(func(in *GigInput) { in.Title = "a\xffb" }), "title"},
		{"long description", with(func(in *GigInput) { in.Description = strings.Repeat("d", 5001) }), "description"},
		{"bell in description", with(func(in *GigInput) { in.Description = "ring\a" }), "description"},
		{"unknown category", with(func(in *GigInput) { in.Category = "Opera" }), "category"},
		{"missing category", with(func(in *GigInput) { in.Category = "" }), "category"},
		{"negative price", with(func(in *GigInput) { in.PriceMinor = -1 }), "price_minor"},
		{"huge price", with(func(in *GigInput) { in.PriceMinor = MaxPriceMinor + 1 }), "price_minor"},
		{"price without currency", with(func(in *GigInput) { in.Currency = "" }), "currency"},
		{"currency digits", with(func(in *GigInput) { in.Currency = "U5D" }), "currency"},
		{"currency long", with(func(in *GigInput) { in.Currency = "USDT" }), "currency"},
		{"missing start", with(func(in *GigInput) { in.StartsAt = "" }), "starts_at"},
		{"start not rfc3339", with(func(in *GigInput) { in.StartsAt = "2030-06-01 18:00" }), "starts_at"},
		{"start year 1999", with(func(in *GigInput) { in.StartsAt = "1999-12-31T23:00:00Z" }), "starts_at"},
		{"end not rfc3339", with(func(in *GigInput) { in.EndsAt = "tomorrow" }), "ends_at"},
		{"end equals start", with(func(in *GigInput) { in.EndsAt = in.StartsAt }), "ends_at"},
		{"end before start", with(func(in *GigInput) { in.EndsAt = "2030-06-01T17:00:00Z" }), "ends_at"},
		{"too long", with(func(in *GigInput) { in.EndsAt = "2030-06-09T18:00:00Z" }), "ends_at"},
		{"pointer http", with(func(in *GigInput) { in.PaymentPointer = "http://wallet.example/a" }), "payment_pointer"},
		{"pointer no host", with(func(in *GigInput) { in.PaymentPointer = "$/alice" }), "payment_pointer"},
		{"pointer space", with(func(in *GigInput) { in.PaymentPointer = "$wallet.example/al ice" }), "payment_pointer"},
		{"pointer userinfo", with(func(in *GigInput) { in.PaymentPointer = "https://u:p@wallet.example/" }), "payment_pointer"},
		{"pointer plain", with(func(in *GigInput) { in.PaymentPointer = "alice" }), "payment_pointer"},
		{"pointer javascript", with(func(in *GigInput) { in.PaymentPointer = "javascript:alert(1)" }), "payment_pointer"},
		{"pointer too long", with(func(in *GigInput) { in.PaymentPointer = "$w.example/" + strings.Repeat("a", 600) }), "payment_pointer"},
		{"priced gig open", with(func(in *GigInput) { in.Access = "open" }), "access"},
		{"unknown access", with(func(in *GigInput) { in.Access = "vip" }), "access"},
		{"negative capacity", with(func(in *GigInput) { in.Capacity = -1 }), "capacity"},
		{"huge capacity", with(func(in *GigInput) { in.Capacity = MaxCapacity + 1 }), "capacity"},
	}
}

func TestValidateRejects(t *testing.T) {
	for _, tc := range invalidInputs() {
		t.Run(tc.name, func(t *testing.T) {
			wantField(t, tc.in.Validate(), tc.field)
		})
	}
}

func TestValidateAcceptsAndNormalizes(t *testing.T) {
	cases := []struct {
		name  string
		in    GigInput
		check func(t *testing.T, g Gig)
	}{
		{"baseline", validInput(), func(t *testing.T, g Gig) {
			if g.Currency != "USD" || g.Category != CategoryComedy || g.PaymentPointer != "https://wallet.example/ada" || g.Access != AccessTicket {
				t.Fatalf("%+v", g)
			}
		}},
		{"free without currency", with(func(in *GigInput) { in.PriceMinor, in.Currency = 0, "" }), func(t *testing.T, g Gig) {
			if g.Currency != "" || g.PriceMinor != 0 {
				t.Fatalf("%+v", g)
			}
		}},
		{"category case and trims", with(func(in *GigInput) { in.Category, in.Title = "workshops", "  Knit  " }), func(t *testing.T, g Gig) {
			if g.Category != CategoryWorkshops || g.Title != "Knit" {
				t.Fatalf("%+v", g)
			}
		}},
		{"offset times become UTC seconds", with(func(in *GigInput) {
			in.StartsAt, in.EndsAt = "2030-06-01T20:00:00.75+02:00", "2030-06-01T21:00:00+02:00"
		}), func(t *testing.T, g Gig) {
			if !g.StartsAt.Equal(testBase) || g.StartsAt.Location() != time.UTC {
				t.Fatalf("%v", g.StartsAt)
			}
		}},
		{"https pointer", with(func(in *GigInput) { in.PaymentPointer = "https://wallet.example/alice" }), func(t *testing.T, g Gig) {
			if g.PaymentPointer != "https://wallet.example/alice" {
				t.Fatalf("%q", g.PaymentPointer)
			}
		}},
		{"bare pointer is its well-known URL", with(func(in *GigInput) { in.PaymentPointer = "$wallet.example" }), func(t *testing.T, g Gig) {
			if g.PaymentPointer != "https://wallet.example/.well-known/pay" {
				t.Fatalf("%q", g.PaymentPointer)
			}
		}},
		{"free gig is open by default", with(func(in *GigInput) { in.PriceMinor, in.Currency = 0, "" }), func(t *testing.T, g Gig) {
			if g.Access != AccessOpen || g.Capacity != 0 {
				t.Fatalf("%+v", g)
			}
		}},
		{"free ticketed gig with seats", with(func(in *GigInput) { in.PriceMinor, in.Currency, in.Access, in.Capacity = 0, "", " Ticket ", 100 }), func(t *testing.T, g Gig) {
			if g.Access != AccessTicket || g.Capacity != 100 {
				t.Fatalf("%+v", g)
			}
		}},
		{"max lengths", with(func(in *GigInput) {
			in.Title, in.CreatorName, in.Description = strings.Repeat("t", 120), strings.Repeat("ü", 80), strings.Repeat("d\t\n", 1666)
		}), func(t *testing.T, g Gig) {}},
		{"seven days", with(func(in *GigInput) { in.EndsAt = "2030-06-08T18:00:00Z" }), func(t *testing.T, g Gig) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.in.normalize()
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, g)
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	p := position{phase: 1, start: testBase.Unix(), id: "abcdefghijklmnop"}
	got, err := decodeCursor(encodeCursor(p))
	if err != nil || got != p {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"!!", encodeCursor(position{phase: 2, id: "abcdefghijklmnop"}), strings.Repeat("a", 200)} {
		if _, err := decodeCursor(bad); err == nil {
			t.Fatalf("cursor %q accepted", bad)
		}
	}
}

func TestSecretsRedact(t *testing.T) {
	sec := newSecrets()
	for _, s := range []string{sec.String(), sec.GoString()} {
		if strings.Contains(s, sec.StreamKey) || strings.Contains(s, sec.ManageToken) {
			t.Fatal("secret printed")
		}
	}
	b, _ := sec.MarshalJSON()
	if strings.Contains(string(b), "sk_") {
		t.Fatal("secret marshalled")
	}
	if errors.Is(nil, ErrNotFound) {
		t.Fatal()
	}
}

// FuzzGigInput checks that validation never panics and that whatever it
// accepts keeps the model's invariants.
func FuzzGigInput(f *testing.F) {
	for _, tc := range append(invalidInputs(), invalidCase{in: validInput()}) {
		in := tc.in
		f.Add(in.CreatorName, in.Title, in.Description, in.Category, in.PriceMinor, in.Currency, in.StartsAt, in.EndsAt, in.PaymentPointer, in.Access, in.Capacity)
	}
	f.Fuzz(func(t *testing.T, creator, title, desc, cat string, price int64, cur, start, end, pp, access string, capacity int) {
		in := GigInput{creator, title, desc, cat, price, cur, start, end, pp, access, capacity}
		g, err := in.normalize()
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field == "" || ve.Message == "" {
				t.Fatalf("error without field: %v", err)
			}
			return
		}
		if g.Title == "" || len([]rune(g.Title)) > MaxTitleLen || g.CreatorName == "" ||
			!g.EndsAt.After(g.StartsAt) || g.PriceMinor < 0 || g.PriceMinor > MaxPriceMinor ||
			(g.PriceMinor > 0 && g.Access != AccessTicket) || g.Capacity < 0 || g.Capacity > MaxCapacity {
			t.Fatalf("accepted invalid gig %+v", g)
		}
		if strings.ContainsAny(g.Title+g.CreatorName, "\x00\n\r\x1b") {
			t.Fatalf("control char accepted: %q", g.Title)
		}
		// Accepted input must survive the round trip a patch makes.
		if _, err := g.input().normalize(); err != nil {
			t.Fatalf("normalized gig does not re-validate: %v", err)
		}
	})
}

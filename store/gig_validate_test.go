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
		{"bidi override in title", with(func(in *GigInput) { in.Title = "Live \u202eexe.4pm" }), "title"},
		{"bidi embedding in title", with(func(in *GigInput) { in.Title = "a\u202ab" }), "title"},
		{"bidi isolate in creator", with(func(in *GigInput) { in.CreatorName = "Ada \u2067Lovelace\u2069" }), "creator_name"},
		{"bidi override in description", with(func(in *GigInput) { in.Description = "See \u202Etxt.exe" }), "description"},
		{"zero-width space in title", with(func(in *GigInput) { in.Title = "Analytical\u200bComedy" }), "title"},
		{"zero-width space alone", with(func(in *GigInput) { in.Title = "\u200b" }), "title"},
		{"word joiner in creator", with(func(in *GigInput) { in.CreatorName = "Ada\u2060" }), "creator_name"},
		{"bom in description", with(func(in *GigInput) { in.Description = "\ufeffhello" }), "description"},
		{"joiner inside latin name", with(func(in *GigInput) { in.CreatorName = "Ad\u200da" }), "creator_name"},
		{"non-joiner at the end", with(func(in *GigInput) { in.Title = "\u0645\u06cc\u200c" }), "title"},
		{"bidi mark in title", with(func(in *GigInput) { in.Title = "Comedy\u200f" }), "title"},
		{"arabic letter mark in creator", with(func(in *GigInput) { in.CreatorName = "\u061cAda" }), "creator_name"},
		{"hangul filler as creator", with(func(in *GigInput) { in.CreatorName = "\u3164" }), "creator_name"},
		{"braille blank title", with(func(in *GigInput) { in.Title = "\u2800\u2800" }), "title"},
		{"soft hyphen in creator", with(func(in *GigInput) { in.CreatorName = "Ada\u00adLovelace" }), "creator_name"},
		{"invisible times in title", with(func(in *GigInput) { in.Title = "a\u2062b" }), "title"},
		{"tag smuggling in title", with(func(in *GigInput) { in.Title = "Show\U000E0069\U000E0067\U000E006E" }), "title"},
		{"tag smuggling in description", with(func(in *GigInput) { in.Description = "Show\U000E0041" }), "description"},
		{"unterminated flag tags", with(func(in *GigInput) { in.Title = "\U0001F3F4\U000E0067\U000E0062" }), "title"},
		{"unknown category", with(func(in *GigInput) { in.Category = "Opera" }), "category"},
		{"missing category", with(func(in *GigInput) { in.Category = "" }), "category"},
		{"negative price", with(func(in *GigInput) { in.PriceMinor = -1 }), "price_minor"},
		{"huge price", with(func(in *GigInput) { in.PriceMinor = MaxPriceMinor + 1 }), "price_minor"},
		{"price without currency", with(func(in *GigInput) { in.Currency = "" }), "currency"},
		{"currency digits", with(func(in *GigInput) { in.Currency = "U5D" }), "currency"},
		{"currency long", with(func(in *GigInput) { in.Currency = "USDT" }), "currency"},
		{"currency unknown", with(func(in *GigInput) { in.Currency = "XYZ" }), "currency"},
		{"currency withdrawn", with(func(in *GigInput) { in.Currency = "HRK" }), "currency"},
		{"currency no currency", with(func(in *GigInput) { in.Currency = "XXX" }), "currency"},
		{"currency testing code", with(func(in *GigInput) { in.Currency = "xts" }), "currency"},
		{"currency gold", with(func(in *GigInput) { in.Currency = "XAU" }), "currency"},
		{"currency fund code", with(func(in *GigInput) { in.Currency = "CHE" }), "currency"},
		{"currency unknown on free gig", with(func(in *GigInput) { in.PriceMinor, in.Currency = 0, "ABC" }), "currency"},
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
		{"emoji joiner sequences", with(func(in *GigInput) { in.Title = "Live 👩\u200d🎤 night ❤\ufe0f" }), func(t *testing.T, g Gig) {}},
		{"persian non-joiner", with(func(in *GigInput) {
			in.Title, in.CreatorName = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0622\u0632\u06cc\u200c\u062a\u0627"
		}), func(t *testing.T, g Gig) {}},
		{"devanagari joiner", with(func(in *GigInput) { in.Title = "\u0915\u094d\u200d\u0937" }), func(t *testing.T, g Gig) {}},
		{"flag tag sequence", with(func(in *GigInput) {
			in.Title = "Ceilidh \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F night"
		}), func(t *testing.T, g Gig) {}},
		{"black flag alone", with(func(in *GigInput) { in.Title = "Pirates \U0001F3F4 ahoy" }), func(t *testing.T, g Gig) {}},
		{"bidi marks in description", with(func(in *GigInput) { in.Description = "\u05e9\u05dc\u05d5\u05dd 2030\u200f!\nSoft\u00adhyphen" }), func(t *testing.T, g Gig) {}},
		{"right-to-left title", with(func(in *GigInput) { in.Title = "\u0639\u0631\u0636 \u0643\u0648\u0645\u064a\u062f\u064a 2030" }), func(t *testing.T, g Gig) {}},
		{"currencies in use", with(func(in *GigInput) { in.Currency = " jpy " }), func(t *testing.T, g Gig) {
			if g.Currency != "JPY" {
				t.Fatalf("%q", g.Currency)
			}
			for _, c := range []string{"USD", "EUR", "GBP", "INR", "BRL", "XOF", "XCG", "ZWG", "SLE", "VES", "CHF"} {
				if !ValidCurrency(c) {
					t.Fatalf("%s refused", c)
				}
			}
		}},
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
		for _, r := range g.Title + g.CreatorName + g.Description {
			if isBidiControl(r) || isInvisible(r) {
				t.Fatalf("invisible or bidi control %U accepted: %q", r, g.Title+g.CreatorName+g.Description)
			}
		}
		for _, r := range g.Title + g.CreatorName {
			if isInvisibleInName(r) {
				t.Fatalf("invisible %U accepted in a name: %q", r, g.Title+g.CreatorName)
			}
		}
		for _, text := range []string{g.Title, g.CreatorName, g.Description} {
			rs := []rune(text)
			for i, r := range rs {
				if (r == '\u200c' || r == '\u200d') && (i == 0 || i == len(rs)-1 || !joinable(rs[i-1]) || !joinable(rs[i+1])) {
					t.Fatalf("stray joiner accepted: %q", text)
				}
			}
		}
		if g.Currency != "" && !ValidCurrency(g.Currency) {
			t.Fatalf("currency %q accepted", g.Currency)
		}
		// Accepted input must survive the round trip a patch makes.
		if _, err := g.input().normalize(); err != nil {
			t.Fatalf("normalized gig does not re-validate: %v", err)
		}
	})
}

package ticket

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bookmygig/bookmygig/internal/secret"
)

var holderCases = []struct {
	name  string
	in    Holder
	want  Holder
	field string
}{
	{"plain", Holder{"Ada Lovelace", "ada@example.com"}, Holder{"Ada Lovelace", "ada@example.com"}, ""},
	{"trimmed", Holder{"  Ada \t", "\n ada@example.com  "}, Holder{"Ada", "ada@example.com"}, ""},
	{"unicode name", Holder{"Zoë 李", "zoe+gig@mail.example.org"}, Holder{"Zoë 李", "zoe+gig@mail.example.org"}, ""},
	{"80 runes", Holder{strings.Repeat("é", 80), "a@example.com"}, Holder{strings.Repeat("é", 80), "a@example.com"}, ""},
	{"81 runes", Holder{strings.Repeat("é", 81), "a@example.com"}, Holder{}, "name"},
	{"empty name", Holder{"   ", "a@example.com"}, Holder{}, "name"},
	{"control in name", Holder{"Ada\x00", "a@example.com"}, Holder{}, "name"},
	{"newline in name", Holder{"Ada\nBob", "a@example.com"}, Holder{}, "name"},
	{"bad utf-8 name", Holder{"Ada\xff", "a@example.com"}, Holder{}, "name"},
	{"empty email", Holder{"Ada", ""}, Holder{}, "email"},
	{"no at", Holder{"Ada", "ada.example.com"}, Holder{}, "email"},
	{"no domain dot", Holder{"Ada", "ada@localhost"}, Holder{}, "email"},
	{"display name", Holder{"Ada", "Ada <ada@example.com>"}, Holder{}, "email"},
	{"space inside", Holder{"Ada", "ada @example.com"}, Holder{}, "email"},
	{"trailing dot", Holder{"Ada", "ada@example.com."}, Holder{}, "email"},
	{"ip literal", Holder{"Ada", "ada@[127.0.0.1]"}, Holder{}, "email"},
	{"255 chars", Holder{"Ada", strings.Repeat("a", 243) + "@example.com"}, Holder{}, "email"},
	{"254 chars", Holder{"Ada", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 177) + ".example.com"}, Holder{"Ada", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 177) + ".example.com"}, ""},
	{"huge", Holder{strings.Repeat("x", 1<<20), strings.Repeat("y", 1<<20)}, Holder{}, "name"},
}

func TestValidateHolder(t *testing.T) {
	for _, c := range holderCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ValidateHolder(c.in)
			if c.field != "" {
				wantFieldErr(t, err, c.field)
				if !strings.HasPrefix(err.Error(), "ticket: "+c.field+": ") {
					t.Fatalf("message %q", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// FuzzValidateHolder: whatever a buyer sends, an accepted holder is within
// the limits, trimmed, and validates to itself.
func FuzzValidateHolder(f *testing.F) {
	for _, c := range holderCases {
		if len(c.in.Name) < 1000 && len(c.in.Email) < 1000 {
			f.Add(c.in.Name, c.in.Email)
		}
	}
	f.Fuzz(func(t *testing.T, name, email string) {
		h, err := ValidateHolder(Holder{Name: name, Email: email})
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if n := utf8.RuneCountInString(h.Name); n < 1 || n > MaxNameLen || utf8.RuneCountInString(h.Email) > MaxEmailLen {
			t.Fatalf("accepted out of limits: %q %q", h.Name, h.Email)
		}
		if strings.TrimSpace(h.Name) != h.Name || !strings.Contains(h.Email, "@") {
			t.Fatalf("accepted %+v", h)
		}
		again, err := ValidateHolder(h)
		if err != nil || again != h {
			t.Fatalf("not idempotent: %+v -> %+v, %v", h, again, err)
		}
	})
}

func TestTokensAndIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, id := secret.New(TokenPrefix), secret.NewID()
		if !plausibleToken(tok) || !secret.ValidID(id) || seen[tok] || seen[id] {
			t.Fatalf("token %q id %q", tok, id)
		}
		seen[tok], seen[id] = true, true
		if h := secret.Hash(tok); len(h) != 64 || strings.Contains(h, tok) {
			t.Fatalf("hash %q", h)
		}
	}
	for _, bad := range []string{"", "tk_", "tk_short", "sk_" + secret.New(TokenPrefix)[3:], secret.New(TokenPrefix) + "x"} {
		if plausibleToken(bad) {
			t.Fatalf("%q accepted as a token", bad)
		}
	}
	for _, bad := range []string{"", "AAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaa", "../aaaaaaaaaaaaa"} {
		if secret.ValidID(bad) {
			t.Fatalf("%q accepted as an id", bad)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "a:b", "a*", strings.Repeat("a", 65), "{a}"} {
		if validGigID(bad) {
			t.Fatalf("%q accepted as a gig id", bad)
		}
	}
}

func TestStateEncoding(t *testing.T) {
	for _, v := range []string{"valid", "revoked 1700000000123456789", "refunded 1"} {
		st, err := decodeState(v)
		if err != nil || st.encode() != v {
			t.Fatalf("%q -> %+v %v", v, st, err)
		}
	}
	for _, bad := range []string{"", "revoked", "revoked x", "gone 1", "valid 1"} {
		if _, err := decodeState(bad); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
}

package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/bookmygig/bookmygig/store"
)

// FuzzDecodeGigInput feeds arbitrary bodies through the strict decoder and
// validation: neither may panic, and accepted input must be a valid gig.
func FuzzDecodeGigInput(f *testing.F) {
	seeds := []string{
		`{}`, `{"titel":"x"}`, `{"title":`, `{"title" "x"}`, ``, `[1,2]`, `{}{}`, `{"price_minor":"12.50"}`,
		`{"price_minor":12.5}`, `{"title":5}`, `null`, `{"title":null}`, `{"price_minor":1e400}`,
		`{"creator_name":"A","title":"T","category":"music","price_minor":0,"starts_at":"2030-06-01T18:00:00Z","ends_at":"2030-06-01T19:00:00Z"}`,
		`{"creator_name":"A","title":"T\u0000","category":"Dance","price_minor":10,"currency":"eur","starts_at":"2030-06-01T18:00:00+02:00","ends_at":"2030-06-01T19:00:00Z","payment_pointer":"$w.example/a"}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in store.GigInput
		if err := decodeStrict(strings.NewReader(body), &in); err != nil {
			return
		}
		if err := in.Validate(); err != nil {
			var ve *store.ValidationError
			if !errors.As(err, &ve) || ve.Field == "" {
				t.Fatalf("validation error without a field: %v", err)
			}
			return
		}
		var p store.Patch
		_ = decodeStrict(strings.NewReader(body), &p)
	})
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"", "", false},
		{"abc", "", false},
	}
	for _, tc := range cases {
		tok, ok := bearerToken(tc.header)
		if tok != tc.token || ok != tc.ok {
			t.Fatalf("%q: %q %v", tc.header, tok, ok)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	if got := maskSecrets("/live/sk_abc/x"); got != "/live/[redacted]/x" {
		t.Fatal(got)
	}
	if got := maskSecrets("/a/b"); got != "/a/b" {
		t.Fatal(got)
	}
}

package access

import (
	"net/http"
	"strings"
	"testing"
)

var screenCases = []struct {
	s  string
	ok bool
}{
	{"", true}, {"tv-1_A", true}, {strings.Repeat("a", 64), true},
	{strings.Repeat("a", 65), false}, {"a b", false}, {"a/b", false}, {"é", false}, {"a.b", false}, {"a\x00", false},
}

func TestValidScreen(t *testing.T) {
	for _, tc := range screenCases {
		if got := ValidScreen(tc.s); got != tc.ok {
			t.Errorf("ValidScreen(%q) = %v, want %v", tc.s, got, tc.ok)
		}
	}
}

// FuzzValidScreen: whatever a player sends as ?screen=, an accepted value
// is short and plain enough to store and echo without escaping.
func FuzzValidScreen(f *testing.F) {
	for _, tc := range screenCases {
		f.Add(tc.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidScreen(s) {
			return
		}
		if len(s) > MaxScreenLen || strings.IndexFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		hdr, tok string
	}{
		{"Bearer tk_abc", "tk_abc"}, {"bearer  tk_abc ", "tk_abc"}, {"Basic dTpw", ""}, {"Bearer", ""}, {"Bearer ", ""}, {"", ""},
	} {
		r, _ := http.NewRequest(http.MethodPost, "/whep/g", nil)
		r.Header.Set("Authorization", tc.hdr)
		if got := BearerToken(r); got != tc.tok {
			t.Errorf("BearerToken(%q) = %q, want %q", tc.hdr, got, tc.tok)
		}
	}
}

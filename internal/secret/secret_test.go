package secret

import (
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewID()
		if !ValidID(id) || seen[id] {
			t.Fatalf("id %q: valid %v, repeated %v", id, ValidID(id), seen[id])
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"abcdefghijklmnop", true}, {"a2b3c4d5e6f7g2h3", true},
		{"", false}, {"abcdefghijklmno", false}, {"abcdefghijklmnopq", false},
		{"ABCDEFGHIJKLMNOP", false}, {"abcdefghijklmno1", false}, {"abcdefghijklmn:*", false},
	} {
		if got := ValidID(tc.s); got != tc.ok {
			t.Errorf("ValidID(%q) = %v, want %v", tc.s, got, tc.ok)
		}
	}
}

func TestNew(t *testing.T) {
	a, b := New("sk_"), New("sk_")
	if a == b || !strings.HasPrefix(a, "sk_") || len(a) != Len("sk_") || len(a) != 46 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if strings.ContainsAny(a, "+/=") {
		t.Fatalf("secret %q is not URL-safe", a)
	}
}

func TestHash(t *testing.T) {
	// SHA-256 of "abc": stored hashes must never change.
	if got := Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash(abc) = %s", got)
	}
}

package access

import (
	"net/http"
	"strings"
)

// MaxScreenLen bounds ?screen=, a player's name for itself that the gate
// stores with the ticket's current screen.
const MaxScreenLen = 64

// ValidScreen reports whether s is a usable ?screen= value: empty, or up to
// MaxScreenLen of [A-Za-z0-9_-], plain enough to store and echo without
// escaping.
func ValidScreen(s string) bool {
	if len(s) > MaxScreenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// BearerToken returns the token of an "Authorization: Bearer" header, or ""
// when there is none. The scheme is matched case-insensitively.
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

package ticket

import (
	"strings"

	"github.com/bookmygig/bookmygig/internal/secret"
)

// tokenLen is the length of a ticket token: the prefix and 256 random bits.
var tokenLen = secret.Len(TokenPrefix)

// validGigID accepts the ids the gig store makes and anything of the same
// harmless alphabet, so that a gig id never smuggles a separator or a key
// pattern into a storage key.
func validGigID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// plausibleToken rejects what cannot be a token before any lookup.
func plausibleToken(tok string) bool {
	return len(tok) == tokenLen && strings.HasPrefix(tok, TokenPrefix)
}

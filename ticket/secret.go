package ticket

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// idLen is the length of a ticket or booking id: 10 random bytes in
// lower-case base32, the same shape as gig ids.
const idLen = 16

// tokenLen is the length of a ticket token: the prefix and 32 bytes of
// unpadded URL-safe base64.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// newID returns a random, URL-safe id (80 bits).
func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// validID reports whether s has the shape of an id from newID, so that
// arbitrary path input never reaches a storage key.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

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

// newToken returns a ticket token: TokenPrefix + 256 random bits.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// plausibleToken rejects what cannot be a token before any lookup.
func plausibleToken(tok string) bool {
	return len(tok) == tokenLen && strings.HasPrefix(tok, TokenPrefix)
}

// hashToken is how tokens are stored. They are 256-bit random values, so a
// plain SHA-256 is enough (nothing to brute-force) and keeps admission fast;
// the hash doubles as the lookup key, so no secret is ever compared.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

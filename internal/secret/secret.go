// Package secret makes the random ids and bearer secrets that store and
// ticket hand out, and the hash a secret is kept under.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

const (
	// IDLen is the length of an id from NewID: 10 random bytes in
	// lower-case base32. Gig, ticket and booking ids all have this shape,
	// and gigs already stored keep theirs: do not change it.
	IDLen = 16
	// secretBytes is the randomness of a secret: 256 bits.
	secretBytes = 32
)

// NewID returns a random, URL-safe id (80 bits: collisions are not a
// practical concern at any number of records a node will hold).
func NewID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead.
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// ValidID reports whether s has the shape of an id from NewID, so that
// arbitrary path input never reaches a storage key.
func ValidID(s string) bool {
	if len(s) != IDLen {
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

// New returns prefix + 256 random bits in unpadded URL-safe base64. The
// prefix tells a human (and secret scanners) which secret they hold.
func New(prefix string) string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Len is the length of every secret New(prefix) returns.
func Len(prefix string) int {
	return len(prefix) + base64.RawURLEncoding.EncodedLen(secretBytes)
}

// Hash is how a secret is stored: its SHA-256 in lower-case hex. The
// secrets are 256-bit random values, so a plain SHA-256 is enough: there is
// nothing to brute-force, and a slow KDF (bcrypt, argon2) would only cost
// CPU on every check. The hash doubles as a lookup key, so no secret is
// ever compared, and a leaked database holds no usable secret.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

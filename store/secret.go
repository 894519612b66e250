package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Secret prefixes tell a human (and secret scanners) which secret they hold.
const (
	StreamKeyPrefix   = "sk_"
	ManageTokenPrefix = "mt_"
	// idLen is the length of a gig id: 10 random bytes in lower-case base32.
	idLen = 16
)

// newID returns a random, URL-safe gig id (80 bits: collisions are not a
// practical concern at any number of gigs a node will hold).
func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead.
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

// newSecret returns prefix + 256 random bits in URL-safe base64.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func newSecrets() Secrets {
	return Secrets{StreamKey: newSecret(StreamKeyPrefix), ManageToken: newSecret(ManageTokenPrefix)}
}

// hashSecret is how both secrets are stored. They are 256-bit random tokens,
// so a plain SHA-256 is enough: there is nothing to brute-force, and a slow
// KDF (bcrypt, argon2) would only cost CPU on every RTMP connect and API
// call. The server never needs either secret back (both are shown once at
// creation), so only the hash is kept; a leaked database cannot publish or
// manage a gig. The stream-key hash doubles as the lookup index key.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

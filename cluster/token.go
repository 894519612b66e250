package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// relayTokenLabel is what the cluster secret signs: a versioned label, so a
// future token format can coexist with this one during an upgrade.
const relayTokenLabel = "bookmygig relay v1"

// RelayToken derives the bearer token nodes use to pull from each other:
// hex(HMAC-SHA256(secret, "bookmygig relay v1")). The secret itself never
// travels.
func RelayToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(relayTokenLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// ValidRelayToken reports whether token is the relay token of secret,
// comparing in constant time. An empty secret or token is never valid, so
// a node started without a secret accepts no relay pulls.
func ValidRelayToken(secret, token string) bool {
	if secret == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(RelayToken(secret)), []byte(token))
}

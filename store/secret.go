package store

import "github.com/bookmygig/bookmygig/internal/secret"

// Secret prefixes tell a human (and secret scanners) which secret they hold.
const (
	StreamKeyPrefix   = "sk_"
	ManageTokenPrefix = "mt_"
)

// newSecrets makes a gig's two secrets. Only their secret.Hash is stored:
// the server never needs either back (both are shown once at creation), so
// a leaked database cannot publish or manage a gig, and the stream-key hash
// doubles as the lookup index key.
func newSecrets() Secrets {
	return Secrets{StreamKey: secret.New(StreamKeyPrefix), ManageToken: secret.New(ManageTokenPrefix)}
}

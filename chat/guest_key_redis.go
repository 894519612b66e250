package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// keyChatGuestKey holds the cluster's Config.GuestKey (hex), created once.
const keyChatGuestKey = "bmg:chat:guest-key"

// SharedGuestKey returns the guest key every node of a Redis cluster uses:
// the first node to ask stores a random one (SET NX), the others read it.
// It does not expire; deleting it gives every guest a new identity.
func SharedGuestKey(ctx context.Context, rdb redis.UniversalClient) ([]byte, error) {
	fresh := make([]byte, guestKeyLen)
	_, _ = rand.Read(fresh)
	if err := rdb.SetNX(ctx, keyChatGuestKey, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return nil, fmt.Errorf("chat guest key: %w", err)
	}
	v, err := rdb.Get(ctx, keyChatGuestKey).Result()
	if err != nil {
		return nil, fmt.Errorf("chat guest key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < guestKeyLen {
		return nil, fmt.Errorf("%w: %s in Redis is not %d hex bytes; delete it to create a new one", ErrInvalidConfig, keyChatGuestKey, guestKeyLen)
	}
	return key, nil
}

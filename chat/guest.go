package chat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Guest ids give chat users without a ticket an identity that survives a
// reconnect: the server mints one on a join that brings none, the page
// keeps it and sends it back, and moderation (mute, ban, slow mode) follows
// it. A guest token is
//
//	"g_" + id + "." + issued + "." + signature
//
// with id 24 hex digits of randomness, issued the Unix second it was
// minted, and signature the first 16 bytes of HMAC-SHA256 (base64url) under
// a key derived from Config.GuestKey. Only the server can mint one; the
// public user id is derived one way from the id (GuestUserID), so seeing a
// user id in the chat gives nobody the token.
const (
	guestKeyLen      = 32
	guestTokenPrefix = "g_"
	guestIDHexLen    = 24
	guestSigLen      = 16
	// maxGuestTokenLen bounds what a join's "guest" may carry.
	maxGuestTokenLen = 96
	// guestClockSkew is how far in the future a token's issue time may be
	// (another node's clock).
	guestClockSkew = 5 * time.Minute
)

// GuestUserID is the public chat user id of a guest: the same for every
// connection that brings the guest's token.
func GuestUserID(guestID string) string {
	sum := sha256.Sum256([]byte("bmg-chat-guest:" + guestID))
	return "u_" + hex.EncodeToString(sum[:6])
}

// serverKeys are the keys derived from Config.GuestKey, one per use.
type serverKeys struct {
	guest []byte // signs guest tokens
	addr  []byte // salts address hashes
}

func deriveKeys(master []byte) serverKeys {
	return serverKeys{guest: keyedSum(master, "bmg-chat-guest-token"), addr: keyedSum(master, "bmg-chat-address")}
}

func keyedSum(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// guest is a verified guest identity.
type guest struct {
	id     string
	issued time.Time
}

// mintGuest returns a new guest identity and its token.
func (k serverKeys) mintGuest(now time.Time) (guest, string) {
	g := guest{id: randomHex(guestIDHexLen / 2), issued: now.Truncate(time.Second)}
	body := guestTokenPrefix + g.id + "." + strconv.FormatInt(g.issued.Unix(), 10)
	return g, body + "." + k.guestSig(body)
}

func (k serverKeys) guestSig(body string) string {
	return base64.RawURLEncoding.EncodeToString(keyedSum(k.guest, body)[:guestSigLen])
}

// verifyGuest checks a token's signature and age. A forged, malformed or
// expired token is not an identity (ok false): the joiner gets a new one.
func (k serverKeys) verifyGuest(tok string, now time.Time, ttl time.Duration) (g guest, ok bool) {
	if len(tok) > maxGuestTokenLen || !strings.HasPrefix(tok, guestTokenPrefix) {
		return guest{}, false
	}
	dot := strings.LastIndexByte(tok, '.')
	if dot < 0 {
		return guest{}, false
	}
	body, sig := tok[:dot], tok[dot+1:]
	if !hmac.Equal([]byte(sig), []byte(k.guestSig(body))) {
		return guest{}, false
	}
	id, issued, found := strings.Cut(body[len(guestTokenPrefix):], ".")
	secs, err := strconv.ParseInt(issued, 10, 64)
	if !found || err != nil || len(id) != guestIDHexLen {
		return guest{}, false
	}
	at := time.Unix(secs, 0)
	if at.After(now.Add(guestClockSkew)) || !at.Add(ttl).After(now) {
		return guest{}, false
	}
	return guest{id: id, issued: at}, true
}

// addrKey is how a client address is stored (address bans): an HMAC under
// the server's key, so a stored key cannot be turned back into the address
// by hashing candidate addresses.
func (k serverKeys) addrKey(ip string) string {
	return hex.EncodeToString(keyedSum(k.addr, ip)[:12])
}

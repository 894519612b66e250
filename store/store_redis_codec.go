package store

import (
	"fmt"
	"strconv"
	"time"

	"github.com/bookmygig/bookmygig/internal/secret"
)

// Fields of the gig hash (bmg:gig:{id}). The two *_sha256 fields are never
// returned to clients.
const (
	fieldID             = "id"
	fieldCreatorName    = "creator_name"
	fieldTitle          = "title"
	fieldDescription    = "description"
	fieldCategory       = "category"
	fieldPriceMinor     = "price_minor"
	fieldCurrency       = "currency"
	fieldStartsAt       = "starts_at"
	fieldEndsAt         = "ends_at"
	fieldPaymentPointer = "payment_pointer"
	fieldAccess         = "access"
	fieldCapacity       = "capacity"
	fieldStatus         = "status"
	fieldCreatedAt      = "created_at"
	fieldUpdatedAt      = "updated_at"
	fieldStartedAt      = "started_at"
	fieldEndedAt        = "ended_at"
	fieldManageHash     = "manage_token_sha256"
	fieldStreamKeyHash  = "stream_key_sha256"
)

// redisGig is a gig hash as stored: the public gig plus secret hashes.
type redisGig struct {
	gig           Gig
	manageHash    string
	streamKeyHash string
}

// gigFields are the public fields of g for HSET (the secret hashes are
// written separately, only when they change).
func gigFields(g Gig) []any {
	return []any{
		fieldID, g.ID,
		fieldCreatorName, g.CreatorName,
		fieldTitle, g.Title,
		fieldDescription, g.Description,
		fieldCategory, string(g.Category),
		fieldPriceMinor, strconv.FormatInt(g.PriceMinor, 10),
		fieldCurrency, g.Currency,
		fieldStartsAt, formatTime(g.StartsAt),
		fieldEndsAt, formatTime(g.EndsAt),
		fieldPaymentPointer, g.PaymentPointer,
		fieldAccess, string(g.Access),
		fieldCapacity, strconv.Itoa(g.Capacity),
		fieldStatus, string(g.Status),
		fieldCreatedAt, formatTime(g.CreatedAt),
		fieldUpdatedAt, formatTime(g.UpdatedAt),
		fieldStartedAt, formatTime(g.StartedAt),
		fieldEndedAt, formatTime(g.EndedAt),
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// decodeGig reads a gig hash. A hash that does not parse is reported, not
// guessed at: it means someone else wrote to our keys.
func decodeGig(m map[string]string) (redisGig, error) {
	return decodeGigWith(func(f string) string { return m[f] })
}

// publicFields are the hash fields a list reads (HMGET), in reply order:
// everything but the secret hashes, which a list never needs.
func publicFields() []string {
	return []string{
		fieldID, fieldCreatorName, fieldTitle, fieldDescription, fieldCategory, fieldPriceMinor,
		fieldCurrency, fieldStartsAt, fieldEndsAt, fieldPaymentPointer, fieldAccess, fieldCapacity, fieldStatus,
		fieldCreatedAt, fieldUpdatedAt, fieldStartedAt, fieldEndedAt,
	}
}

// decodeGigValues reads an HMGET reply for publicFields. ok=false means the
// gig does not exist (any more).
func decodeGigValues(fields []string, vals []any) (g Gig, ok bool, err error) {
	if len(vals) == 0 || vals[0] == nil {
		return Gig{}, false, nil
	}
	rg, err := decodeGigWith(func(f string) string {
		for i, name := range fields {
			if name == f && i < len(vals) {
				v, _ := vals[i].(string)
				return v
			}
		}
		return ""
	})
	return rg.gig, err == nil, err
}

func decodeGigWith(m func(field string) string) (redisGig, error) {
	var rg redisGig
	g := &rg.gig
	g.ID = m(fieldID)
	g.CreatorName = m(fieldCreatorName)
	g.Title = m(fieldTitle)
	g.Description = m(fieldDescription)
	g.Category = Category(m(fieldCategory))
	g.Currency = m(fieldCurrency)
	g.PaymentPointer = m(fieldPaymentPointer)
	g.Status = Status(m(fieldStatus))
	g.Access = Access(m(fieldAccess))
	rg.manageHash = m(fieldManageHash)
	rg.streamKeyHash = m(fieldStreamKeyHash)
	var err error
	if g.PriceMinor, err = strconv.ParseInt(m(fieldPriceMinor), 10, 64); err != nil {
		return rg, fmt.Errorf("%w %q: price: %v", errCorrupt, g.ID, err)
	}
	if g.Access == "" {
		// Gigs stored before access existed: priced ones were meant to be paid.
		g.Access = AccessOpen
		if g.PriceMinor > 0 {
			g.Access = AccessTicket
		}
	}
	if c := m(fieldCapacity); c != "" {
		if g.Capacity, err = strconv.Atoi(c); err != nil {
			return rg, fmt.Errorf("%w %q: capacity: %v", errCorrupt, g.ID, err)
		}
	}
	for _, tf := range []struct {
		dst   *time.Time
		field string
	}{
		{&g.StartsAt, fieldStartsAt}, {&g.EndsAt, fieldEndsAt}, {&g.CreatedAt, fieldCreatedAt},
		{&g.UpdatedAt, fieldUpdatedAt}, {&g.StartedAt, fieldStartedAt}, {&g.EndedAt, fieldEndedAt},
	} {
		if *tf.dst, err = parseTime(m(tf.field)); err != nil {
			return rg, fmt.Errorf("%w %q: %s: %v", errCorrupt, g.ID, tf.field, err)
		}
	}
	if !secret.ValidID(g.ID) || !g.Status.Valid() || g.StartsAt.IsZero() {
		return rg, fmt.Errorf("%w %q", errCorrupt, g.ID)
	}
	return rg, nil
}

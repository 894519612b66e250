package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookmygig/bookmygig/internal/redisconn"
	"github.com/bookmygig/bookmygig/internal/secret"
)

// Redis keys. A gig's tickets live in a few hashes next to the gig's own
// hash (bmg:gig:{id}); a plain key maps a token's hash to its ticket.
const (
	keyGigPrefix      = "bmg:gig:"
	keyTicketsSuffix  = ":tickets"          // hash ticket id -> record JSON
	keyStateSuffix    = ":ticket_state"     // hash ticket id -> "valid" | "<status> <unix ns>"
	keyCountsSuffix   = ":ticket_counts"    // hash "sold" -> valid tickets, "revenue" -> their paid minor units
	keyBookingsSuffix = ":bookings"         // hash booking id -> pending booking JSON
	keyScreensSuffix  = ":screens"          // hash ticket id -> current screen (RedisBus)
	keyTokenPrefix    = "bmg:ticket_token:" // + sha256 hex of token -> "gigID id"
	// keyEventsChannel is the pub/sub channel of every gate's events.
	keyEventsChannel = "bmg:tickets:events"
)

func ticketsKey(gigID string) string  { return keyGigPrefix + gigID + keyTicketsSuffix }
func stateKey(gigID string) string    { return keyGigPrefix + gigID + keyStateSuffix }
func countsKey(gigID string) string   { return keyGigPrefix + gigID + keyCountsSuffix }
func bookingsKey(gigID string) string { return keyGigPrefix + gigID + keyBookingsSuffix }
func screensKey(gigID string) string  { return keyGigPrefix + gigID + keyScreensSuffix }
func tokenKey(hash string) string     { return keyTokenPrefix + hash }
func tokenRefValue(gigID, id string) string {
	return gigID + " " + id
}

// Timeouts chosen, like the gig store's, so that a dead or frozen Redis
// turns into ErrUnavailable well within a second.
const (
	DefaultRedisDialTimeout = redisconn.DefaultDialTimeout
	DefaultRedisIOTimeout   = redisconn.DefaultIOTimeout
	DefaultRedisOpTimeout   = redisconn.DefaultOpTimeout
)

// RedisConfig configures RedisStore. Zero durations take the defaults above.
type RedisConfig struct {
	// URL is a redis://, rediss:// or redis-sentinel:// URL (internal/redisconn).
	URL string
	// DialTimeout bounds connecting; IOTimeout bounds each read and write.
	DialTimeout time.Duration
	IOTimeout   time.Duration
	// OpTimeout bounds one store call, all its round trips included.
	OpTimeout time.Duration
	// PoolSize is the connection pool size; 0 means go-redis's default.
	PoolSize int
}

var _ Store = (*RedisStore)(nil)

// RedisStore keeps tickets in Redis so that every node sharing the Redis
// sells from the same seats: each write is one Lua script (atomic on the
// server), each read one round trip.
type RedisStore struct {
	rdb       *redis.Client
	log       *slog.Logger
	opTimeout time.Duration
	sc        scripts
	health    *redisconn.Health
	closeOnce sync.Once
	closeErr  error
	now       func() time.Time
}

// NewRedisStore connects to Redis and checks it answers. An unreachable
// Redis is an error wrapping ErrUnavailable; after start-up the store rides
// out outages by itself (calls fail with ErrUnavailable meanwhile).
func NewRedisStore(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*RedisStore, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn := redisconn.StoreConfig{
		URL: cfg.URL, DialTimeout: cfg.DialTimeout, IOTimeout: cfg.IOTimeout, OpTimeout: cfg.OpTimeout,
		PoolSize: cfg.PoolSize,
	}.WithDefaults()
	// Waiting for a pooled connection may use the whole op budget: a burst
	// of bookings queues for connections rather than failing early.
	conn.PoolTimeout = conn.OpTimeout
	log = log.With("component", "ticket", "engine", "redis")
	s := &RedisStore{
		log:       log,
		health:    redisconn.NewHealth(ErrUnavailable, log),
		opTimeout: conn.OpTimeout,
		sc:        newScripts(),
		now:       time.Now,
	}
	rdb, _, err := redisconn.Connect(ctx, conn)
	if errors.Is(err, redisconn.ErrURL) {
		return nil, err
	}
	if err != nil {
		return nil, s.fail(ctx, "ping", err)
	}
	s.rdb = rdb
	return s, nil
}

// Client is the store's connection pool, for a RedisBus on the same Redis.
func (s *RedisStore) Client() *redis.Client { return s.rdb }

// Close closes the connection pool. It is idempotent.
func (s *RedisStore) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.rdb.Close() })
	return s.closeErr
}

// fail classifies an error from a Redis call (redisconn.Health.Fail):
// anything that means "Redis did not answer" wraps ErrUnavailable, unless
// the caller's own context ended first; a nil error notes that Redis is back.
func (s *RedisStore) fail(parent context.Context, op string, err error) error {
	return s.health.Fail(parent, op, err)
}

// run executes a script and returns its reply as strings.
func (s *RedisStore) run(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) ([]string, error) {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	res, err := sc.Run(octx, s.rdb, keys, args...).StringSlice()
	if err == nil && len(res) == 0 {
		err = fmt.Errorf("empty script reply")
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	s.fail(ctx, op, nil)
	return res, nil
}

// Issue implements Store.
func (s *RedisStore) Issue(ctx context.Context, in Issue) (Ticket, string, error) {
	in, err := in.normalize()
	if err != nil {
		return Ticket{}, "", err
	}
	tok := secret.New(TokenPrefix)
	rec := record{ID: secret.NewID(), GigID: in.GigID, Name: in.Holder.Name, Email: in.Holder.Email, Kind: in.Kind,
		PaidMinor: in.PaidMinor, Currency: in.Currency, CreatedAt: s.now().UTC(), TokenHash: secret.Hash(tok)}
	data, err := json.Marshal(rec)
	if err != nil {
		return Ticket{}, "", fmt.Errorf("issue: %w", err)
	}
	g := in.GigID
	res, err := s.run(ctx, "issue", s.sc.issue, []string{ticketsKey(g), stateKey(g), countsKey(g), tokenKey(rec.TokenHash)},
		in.Capacity, rec.ID, data, tokenRefValue(g, rec.ID), rec.revenue())
	if err != nil {
		return Ticket{}, "", err
	}
	switch res[0] {
	case "ok":
		return rec.ticket(state{status: StatusValid}), tok, nil
	case "sold_out":
		return Ticket{}, "", ErrSoldOut
	}
	// A 80-bit id or 256-bit token collision: not a practical outcome.
	return Ticket{}, "", fmt.Errorf("issue: id collision")
}

// Reserve implements Store.
func (s *RedisStore) Reserve(ctx context.Context, gigID string, h Holder, amountMinor int64, currency string) (Booking, string, error) {
	b, tok, err := newBooking(gigID, h, amountMinor, currency, s.now())
	if err != nil {
		return Booking{}, "", err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return Booking{}, "", fmt.Errorf("reserve: %w", err)
	}
	res, err := s.run(ctx, "reserve", s.sc.reserve, []string{bookingsKey(gigID), tokenKey(b.TokenHash)},
		b.ID, data, tokenRefValue(gigID, b.ID))
	if err != nil {
		return Booking{}, "", err
	}
	if res[0] != "ok" {
		return Booking{}, "", fmt.Errorf("reserve: id collision")
	}
	return b.booking(), tok, nil
}

// Confirm implements Store: one read for the booking, then one script that
// re-checks everything and converts it (into a valid ticket, or a refunded
// one when no seat is left).
func (s *RedisStore) Confirm(ctx context.Context, gigID, bookingID string, capacity int, paymentRef string) (Ticket, bool, error) {
	if !validGigID(gigID) || !secret.ValidID(bookingID) {
		return Ticket{}, false, ErrNotFound
	}
	now := s.now().UTC()
	refunded := endedState(StatusRefunded, now)
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	raw, err := s.rdb.HGet(octx, bookingsKey(gigID), bookingID).Result()
	cancel()
	var (
		rec  record
		data []byte
	)
	switch {
	case errors.Is(err, redis.Nil):
		// Maybe confirmed already: the script returns the ticket.
	case err != nil:
		return Ticket{}, false, s.fail(ctx, "confirm", err)
	default:
		var b bookingRecord
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			return Ticket{}, false, fmt.Errorf("confirm: corrupt booking %s: %w", bookingID, err)
		}
		rec = b.paidRecord(now, paymentRef)
		if data, err = json.Marshal(rec); err != nil {
			return Ticket{}, false, fmt.Errorf("confirm: %w", err)
		}
	}
	g := gigID
	res, err := s.run(ctx, "confirm", s.sc.confirm, []string{ticketsKey(g), stateKey(g), countsKey(g), bookingsKey(g)},
		capacity, bookingID, string(data), rec.revenue(), refunded.encode())
	if err != nil {
		return Ticket{}, false, err
	}
	switch res[0] {
	case "ok":
		return rec.ticket(state{status: StatusValid}), true, nil
	case "exists":
		t, err := decodeTicket(res[1:])
		return t, false, err
	case "sold_out":
		return rec.ticket(refunded), true, ErrSoldOut
	}
	return Ticket{}, false, ErrNotFound
}

// decodeTicket reads a script's {record JSON, state} pair.
func decodeTicket(v []string) (Ticket, error) {
	if len(v) != 2 {
		return Ticket{}, fmt.Errorf("ticket: corrupt script reply")
	}
	var rec record
	if err := json.Unmarshal([]byte(v[0]), &rec); err != nil {
		return Ticket{}, fmt.Errorf("ticket: corrupt record: %w", err)
	}
	st, err := decodeState(v[1])
	if err != nil {
		return Ticket{}, err
	}
	return rec.ticket(st), nil
}

// Authenticate implements Store in one round trip.
func (s *RedisStore) Authenticate(ctx context.Context, gigID, token string) (Ticket, error) {
	if !plausibleToken(token) || !validGigID(gigID) {
		return Ticket{}, ErrInvalidToken
	}
	g := gigID
	res, err := s.run(ctx, "authenticate", s.sc.auth, []string{tokenKey(secret.Hash(token)), ticketsKey(g), stateKey(g), bookingsKey(g)}, g)
	if err != nil {
		return Ticket{}, err
	}
	switch res[0] {
	case "ticket":
		return decodeTicket(res[1:])
	case "pending":
		return Ticket{}, ErrPending
	}
	return Ticket{}, ErrInvalidToken
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, gigID, ticketID string) (Ticket, error) {
	if !validGigID(gigID) || !secret.ValidID(ticketID) {
		return Ticket{}, ErrNotFound
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	var rec, st *redis.StringCmd
	_, err := s.rdb.Pipelined(octx, func(p redis.Pipeliner) error {
		rec = p.HGet(octx, ticketsKey(gigID), ticketID)
		st = p.HGet(octx, stateKey(gigID), ticketID)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		s.fail(ctx, "get", nil)
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, s.fail(ctx, "get", err)
	}
	s.fail(ctx, "get", nil)
	return decodeTicket([]string{rec.Val(), st.Val()})
}

// List implements Store: both hashes in one round trip.
func (s *RedisStore) List(ctx context.Context, gigID string) ([]Ticket, error) {
	if !validGigID(gigID) {
		return []Ticket{}, nil
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	var recs, sts *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(octx, func(p redis.Pipeliner) error {
		recs = p.HGetAll(octx, ticketsKey(gigID))
		sts = p.HGetAll(octx, stateKey(gigID))
		return nil
	})
	if err != nil {
		return nil, s.fail(ctx, "list", err)
	}
	s.fail(ctx, "list", nil)
	out := make([]Ticket, 0, len(recs.Val()))
	for id, raw := range recs.Val() {
		t, err := decodeTicket([]string{raw, sts.Val()[id]})
		if err != nil {
			return nil, fmt.Errorf("list gig %s: %w", gigID, err)
		}
		out = append(out, t)
	}
	sortTickets(out)
	return out, nil
}

// End implements Store.
func (s *RedisStore) End(ctx context.Context, gigID, ticketID string, to Status) (Ticket, error) {
	if err := checkEnd(gigID, ticketID, to); err != nil {
		return Ticket{}, err
	}
	st := endedState(to, s.now().UTC())
	g := gigID
	res, err := s.run(ctx, "end", s.sc.end, []string{ticketsKey(g), stateKey(g), countsKey(g)}, ticketID, st.encode())
	if err != nil {
		return Ticket{}, err
	}
	switch res[0] {
	case "ok":
		if len(res) != 2 {
			return Ticket{}, fmt.Errorf("end: corrupt script reply")
		}
		return decodeTicket([]string{res[1], st.encode()})
	case "conflict":
		return Ticket{}, ErrConflict
	}
	return Ticket{}, ErrNotFound
}

// Counts implements Store in one round trip that reads the gig's counters
// (the scripts that issue, confirm and end tickets keep them), never the
// tickets: browse pages ask it for every ticketed gig.
func (s *RedisStore) Counts(ctx context.Context, gigID string) (Counts, error) {
	if !validGigID(gigID) {
		return Counts{}, nil
	}
	g := gigID
	res, err := s.run(ctx, "counts", s.sc.counts, []string{ticketsKey(g), stateKey(g), countsKey(g)})
	if err != nil {
		return Counts{}, err
	}
	if len(res) != 2 {
		return Counts{}, fmt.Errorf("counts: corrupt script reply")
	}
	sold, err1 := strconv.Atoi(res[0])
	rev, err2 := strconv.ParseInt(res[1], 10, 64)
	if err1 != nil || err2 != nil {
		return Counts{}, fmt.Errorf("counts gig %s: corrupt counters %q", gigID, res)
	}
	return Counts{Sold: sold, RevenueMinor: rev}, nil
}

// DeleteGig implements Store: tickets, bookings, token lookups and screens
// go in one script.
func (s *RedisStore) DeleteGig(ctx context.Context, gigID string) error {
	if !validGigID(gigID) {
		return nil
	}
	g := gigID
	_, err := s.run(ctx, "delete gig", s.sc.del,
		[]string{ticketsKey(g), stateKey(g), countsKey(g), bookingsKey(g), screensKey(g)}, keyTokenPrefix)
	return err
}

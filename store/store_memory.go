package store

import (
	"context"
	"crypto/subtle"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/secret"
)

var _ Store = (*MemoryStore)(nil)

// MemoryStore keeps gigs in process memory: the embedded default engine. It
// has the same semantics as RedisStore (the shared contract tests hold both
// to it) and loses everything on restart.
type MemoryStore struct {
	mu        sync.RWMutex
	gigs      map[string]*memoryRecord
	keys      map[string]string // stream-key hash -> gig id
	now       func() time.Time
	retention time.Duration // 0: keep ended gigs forever
}

// MemoryConfig configures MemoryStore.
type MemoryConfig struct {
	// EndedRetention is how long an ended gig is kept: after it the gig
	// reads as gone and SweepExpired removes it. 0 means
	// DefaultEndedRetention; negative keeps ended gigs forever.
	EndedRetention time.Duration
	// Now is the store's clock (nil: time.Now); tests set it.
	Now func() time.Time
}

type memoryRecord struct {
	gig           Gig
	manageHash    string
	streamKeyHash string
}

// NewMemory returns an empty in-memory store with the default config.
func NewMemory() *MemoryStore { return NewMemoryWith(MemoryConfig{}) }

// NewMemoryWith returns an empty in-memory store configured by cfg.
func NewMemoryWith(cfg MemoryConfig) *MemoryStore {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		gigs:      make(map[string]*memoryRecord),
		keys:      make(map[string]string),
		now:       now,
		retention: endedRetention(cfg.EndedRetention),
	}
}

// lookup returns the record of a gig that exists and has not outlived its
// retention. An expired gig reads as gone before the sweep removes it, as
// it does on Redis, where its keys expire by themselves. The caller holds
// s.mu.
func (s *MemoryStore) lookup(id string) (*memoryRecord, bool) {
	rec, ok := s.gigs[id]
	if !ok || s.expired(rec.gig, s.now()) {
		return nil, false
	}
	return rec, true
}

func (s *MemoryStore) expired(g Gig, now time.Time) bool {
	at, ok := expiresAt(g, s.retention)
	return ok && !now.Before(at)
}

// Create implements Writer.
func (s *MemoryStore) Create(ctx context.Context, in GigInput) (Gig, Secrets, error) {
	g, err := in.normalize()
	if err != nil {
		return Gig{}, Secrets{}, err
	}
	now := s.now().UTC()
	if err := checkNotPast(g.StartsAt, now); err != nil {
		return Gig{}, Secrets{}, err
	}
	g.ID, g.Status, g.CreatedAt, g.UpdatedAt = secret.NewID(), StatusScheduled, now, now
	sec := newSecrets()
	rec := &memoryRecord{gig: g, manageHash: secret.Hash(sec.ManageToken), streamKeyHash: secret.Hash(sec.StreamKey)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gigs[g.ID] = rec
	s.keys[rec.streamKeyHash] = g.ID
	return g, sec, nil
}

// Get implements Reader.
func (s *MemoryStore) Get(ctx context.Context, id string) (Gig, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.lookup(id)
	if !ok {
		return Gig{}, ErrNotFound
	}
	return rec.gig, nil
}

// List implements Reader.
func (s *MemoryStore) List(ctx context.Context, f Filter) (Page, error) {
	f, after, err := f.normalize()
	if err != nil {
		return Page{}, err
	}
	// Sort small (position, record) pairs and copy out only the page: whole
	// Gig values are too big to shuffle around for every request.
	type candidate struct {
		pos position
		rec *memoryRecord
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	cands := make([]candidate, 0, len(s.gigs))
	now := s.now()
	for _, rec := range s.gigs {
		if !f.matches(rec.gig) || s.expired(rec.gig, now) {
			continue
		}
		pos := positionOf(rec.gig)
		if after.isZero() || after.less(pos) {
			cands = append(cands, candidate{pos, rec})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		switch {
		case a.pos.less(b.pos):
			return -1
		case b.pos.less(a.pos):
			return 1
		}
		return 0
	})
	n := min(len(cands), f.Limit+1)
	out := make([]Gig, n)
	for i := range n {
		out[i] = cands[i].rec.gig
	}
	return pageOf(out, f.Limit), nil
}

// pageOf cuts sorted gigs (which may hold more than limit) into a page.
func pageOf(gigs []Gig, limit int) Page {
	if len(gigs) <= limit {
		return Page{Gigs: gigs}
	}
	gigs = gigs[:limit]
	return Page{Gigs: gigs, NextCursor: encodeCursor(positionOf(gigs[limit-1]))}
}

// Update implements Writer.
func (s *MemoryStore) Update(ctx context.Context, id string, p Patch) (Gig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(id)
	if !ok {
		return Gig{}, ErrNotFound
	}
	now := s.now().UTC()
	g, err := p.apply(rec.gig, now)
	if err != nil {
		return Gig{}, err
	}
	g.UpdatedAt = now
	rec.gig = g
	return g, nil
}

// Delete implements Writer.
func (s *MemoryStore) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(id)
	if !ok {
		return ErrNotFound
	}
	if rec.gig.Status == StatusLive {
		return ErrConflict
	}
	delete(s.keys, rec.streamKeyHash)
	delete(s.gigs, id)
	return nil
}

// RotateStreamKey implements Credentials.
func (s *MemoryStore) RotateStreamKey(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(id)
	if !ok {
		return "", ErrNotFound
	}
	key := secret.New(StreamKeyPrefix)
	delete(s.keys, rec.streamKeyHash)
	rec.streamKeyHash = secret.Hash(key)
	s.keys[rec.streamKeyHash] = id
	rec.gig.UpdatedAt = s.now().UTC()
	return key, nil
}

// CheckManageToken implements Credentials.
func (s *MemoryStore) CheckManageToken(ctx context.Context, id, token string) error {
	s.mu.RLock()
	rec, ok := s.lookup(id)
	var want string
	if ok {
		want = rec.manageHash
	}
	s.mu.RUnlock()
	if !ok {
		return ErrNotFound
	}
	return checkToken(want, token)
}

// checkToken compares the hash of token with the stored hash in constant
// time, so response timing says nothing about how much of it matched.
func checkToken(wantHash, token string) error {
	if token == "" {
		return ErrUnauthorized
	}
	if subtle.ConstantTimeCompare([]byte(secret.Hash(token)), []byte(wantHash)) != 1 {
		return ErrForbidden
	}
	return nil
}

// ResolveStreamKey implements KeyResolver. The lookup is by hash, so there
// is no secret comparison whose timing could leak.
func (s *MemoryStore) ResolveStreamKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", access.ErrUnknownKey
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.keys[secret.Hash(key)]
	if !ok {
		return "", access.ErrUnknownKey
	}
	if _, ok := s.lookup(id); !ok {
		return "", access.ErrUnknownKey
	}
	return id, nil
}

// SetStatus implements StatusSetter.
func (s *MemoryStore) SetStatus(ctx context.Context, id string, status Status, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(id)
	if !ok {
		return ErrNotFound
	}
	g := rec.gig
	if _, err := transition(&g, status, at); err != nil {
		return err
	}
	rec.gig = g
	return nil
}

// SweepExpired removes the ended gigs whose retention ran out by now (at
// most SweepBatch, oldest first) with their stream keys, and returns their
// ids so that the caller can drop what other packages keep per gig
// (tickets, chat history).
func (s *MemoryStore) SweepExpired(ctx context.Context, now time.Time) ([]string, error) {
	if s.retention <= 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*memoryRecord
	for _, rec := range s.gigs {
		if s.expired(rec.gig, now) {
			due = append(due, rec)
		}
	}
	slices.SortFunc(due, func(a, b *memoryRecord) int {
		if c := a.gig.EndedAt.Compare(b.gig.EndedAt); c != 0 {
			return c
		}
		return strings.Compare(a.gig.ID, b.gig.ID)
	})
	ids := make([]string, 0, min(len(due), SweepBatch))
	for _, rec := range due[:min(len(due), SweepBatch)] {
		delete(s.keys, rec.streamKeyHash)
		delete(s.gigs, rec.gig.ID)
		ids = append(ids, rec.gig.ID)
	}
	return ids, nil
}

// Ping implements Store; memory is always reachable.
func (s *MemoryStore) Ping(ctx context.Context) error { return nil }

// Close implements Store; there is nothing to release.
func (s *MemoryStore) Close() error { return nil }

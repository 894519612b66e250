package chat

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryBroker is the in-process Broker: the embedded default for a single
// node, and a stand-in for Redis when several Hubs share one process.
type MemoryBroker struct {
	mu       sync.Mutex
	closed   bool
	nextID   uint64
	subs     map[string]map[uint64]func([]byte)
	history  map[string][]Message
	presence map[string]map[string]presenceEntry
	restrict map[string]map[string]Restriction
	// pubMu serializes deliveries so every subscriber sees one total order.
	pubMu sync.Mutex
}

type presenceEntry struct {
	viewers int
	expires time.Time
}

var _ Broker = (*MemoryBroker)(nil)

// NewMemoryBroker returns an empty in-process broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{
		subs:     make(map[string]map[uint64]func([]byte)),
		history:  make(map[string][]Message),
		presence: make(map[string]map[string]presenceEntry),
		restrict: make(map[string]map[string]Restriction),
	}
}

// Close drops every subscription; later calls fail with ErrClosed.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.subs = make(map[string]map[uint64]func([]byte))
	return nil
}

// Publish calls every subscriber of the gig synchronously, in publish order.
func (b *MemoryBroker) Publish(ctx context.Context, gigID string, msg []byte) error {
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	hs := make([]func([]byte), 0, len(b.subs[gigID]))
	for _, h := range b.subs[gigID] {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	for _, h := range hs {
		h(slices.Clone(msg))
	}
	return nil
}

// Subscribe registers h; it is active when Subscribe returns.
func (b *MemoryBroker) Subscribe(ctx context.Context, gigID string, h func([]byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return func() {}, ErrClosed
	}
	b.nextID++
	id := b.nextID
	if b.subs[gigID] == nil {
		b.subs[gigID] = make(map[uint64]func([]byte))
	}
	b.subs[gigID][id] = h
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[gigID], id)
		if len(b.subs[gigID]) == 0 {
			delete(b.subs, gigID)
		}
	}, nil
}

// AppendHistory adds m to the gig's ring of limit messages.
func (b *MemoryBroker) AppendHistory(ctx context.Context, gigID string, m Message, limit int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := append(b.history[gigID], m)
	if len(h) > limit {
		h = slices.Clone(h[len(h)-limit:])
	}
	b.history[gigID] = h
	return nil
}

// History returns up to limit newest messages, oldest first.
func (b *MemoryBroker) History(ctx context.Context, gigID string, limit int) ([]Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.history[gigID]
	if len(h) > limit {
		h = h[len(h)-limit:]
	}
	return slices.Clone(h), nil
}

// DeleteHistory removes the message with msgID.
func (b *MemoryBroker) DeleteHistory(ctx context.Context, gigID, msgID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.history[gigID] = slices.DeleteFunc(b.history[gigID], func(m Message) bool { return m.ID == msgID })
	return nil
}

// Heartbeat records nodeID's viewers of the gig until ttl from now.
func (b *MemoryBroker) Heartbeat(ctx context.Context, gigID, nodeID string, viewers int, ttl time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if viewers <= 0 {
		delete(b.presence[gigID], nodeID)
		return nil
	}
	if b.presence[gigID] == nil {
		b.presence[gigID] = make(map[string]presenceEntry)
	}
	b.presence[gigID][nodeID] = presenceEntry{viewers: viewers, expires: time.Now().Add(ttl)}
	return nil
}

// Presence returns unexpired viewer counts per node, pruning expired ones.
func (b *MemoryBroker) Presence(ctx context.Context, gigID string) (map[string]int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	out := make(map[string]int)
	for node, e := range b.presence[gigID] {
		if !e.expires.After(now) {
			delete(b.presence[gigID], node)
			continue
		}
		out[node] = e.viewers
	}
	return out, nil
}

// Restrict stores or removes one restriction.
func (b *MemoryBroker) Restrict(ctx context.Context, gigID string, r Restriction) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.removes(time.Now()) {
		delete(b.restrict[gigID], r.field())
		return nil
	}
	if b.restrict[gigID] == nil {
		b.restrict[gigID] = make(map[string]Restriction)
	}
	b.restrict[gigID][r.field()] = r
	return nil
}

// Restrictions returns the gig's unexpired restrictions.
func (b *MemoryBroker) Restrictions(ctx context.Context, gigID string) ([]Restriction, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	var out []Restriction
	for f, r := range b.restrict[gigID] {
		if r.removes(now) {
			delete(b.restrict[gigID], f)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

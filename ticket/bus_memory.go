package ticket

import (
	"context"
	"sync"
)

var _ Bus = (*MemoryBus)(nil)

// MemoryBus is the Bus of a single node (or of several gates in one process,
// as tests use it). Publish delivers synchronously, one event at a time, so
// every subscriber sees the same order.
type MemoryBus struct {
	deliver sync.Mutex // serializes deliveries: one total order

	mu      sync.Mutex
	nextID  uint64
	subs    map[uint64]func(Event)
	screens map[string]map[string]string // gig -> ticket -> screen
}

// NewMemoryBus returns a bus with no subscribers.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{subs: make(map[uint64]func(Event)), screens: make(map[string]map[string]string)}
}

// Publish implements Bus.
func (b *MemoryBus) Publish(ctx context.Context, ev Event) error {
	b.deliver.Lock()
	defer b.deliver.Unlock()
	b.mu.Lock()
	if ev.Type == EventScreen {
		if b.screens[ev.GigID] == nil {
			b.screens[ev.GigID] = make(map[string]string)
		}
		b.screens[ev.GigID][ev.TicketID] = ev.Screen
	}
	hs := make([]func(Event), 0, len(b.subs))
	for _, h := range b.subs {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	for _, h := range hs {
		h(ev)
	}
	return nil
}

// Subscribe implements Bus.
func (b *MemoryBus) Subscribe(h func(Event)) func() {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.subs[id] = h
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

// CurrentScreen implements Bus.
func (b *MemoryBus) CurrentScreen(ctx context.Context, gigID, ticketID string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.screens[gigID][ticketID], nil
}

// Forget drops a deleted gig's screens (RedisStore.DeleteGig removes them
// on Redis).
func (b *MemoryBus) Forget(gigID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.screens, gigID)
}

// passKey names a ticket across gigs.
func passKey(gigID, ticketID string) string { return gigID + "/" + ticketID }

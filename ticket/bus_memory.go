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

	subs subscribers

	mu      sync.Mutex
	screens map[string]map[string]string // gig -> ticket -> screen
}

// NewMemoryBus returns a bus with no subscribers.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{screens: make(map[string]map[string]string)}
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
	b.mu.Unlock()
	b.subs.deliver(ev)
	return nil
}

// Subscribe implements Bus.
func (b *MemoryBus) Subscribe(h func(Event)) func() { return b.subs.add(h) }

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

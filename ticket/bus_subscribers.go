package ticket

import "sync"

// subscribers is a bus's registry of event handlers, the part MemoryBus and
// RedisBus share. The zero value is ready to use.
type subscribers struct {
	mu     sync.Mutex
	nextID uint64
	hs     map[uint64]func(Event)
}

// add registers h until the returned cancel is called.
func (s *subscribers) add(h func(Event)) (cancel func()) {
	s.mu.Lock()
	if s.hs == nil {
		s.hs = make(map[uint64]func(Event))
	}
	s.nextID++
	id := s.nextID
	s.hs[id] = h
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.hs, id)
		s.mu.Unlock()
	}
}

// deliver hands ev to every handler registered now. The handlers run
// outside the lock, so one may cancel its own subscription.
func (s *subscribers) deliver(ev Event) {
	s.mu.Lock()
	hs := make([]func(Event), 0, len(s.hs))
	for _, h := range s.hs {
		hs = append(hs, h)
	}
	s.mu.Unlock()
	for _, h := range hs {
		h(ev)
	}
}

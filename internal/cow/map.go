package cow

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Map is a copy-on-write map. The zero Map is empty and ready to use; it
// must not be copied after first use.
type Map[K comparable, V any] struct {
	mu sync.Mutex // serializes changes; reads never take it
	p  atomic.Pointer[map[K]V]
}

// Load returns the current map (nil when nothing was ever stored; reading a
// nil map is fine). It is shared: never modify it.
func (m *Map[K, V]) Load() map[K]V {
	if p := m.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Edit applies edit to a copy of the map and publishes the copy.
func (m *Map[K, V]) Edit(edit func(map[K]V)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := maps.Clone(m.Load())
	if next == nil {
		next = make(map[K]V)
	}
	edit(next)
	m.p.Store(&next)
}

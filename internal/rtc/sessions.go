package rtc

import "sync"

// Sessions is one side's live sessions by ID (WHEP viewers, WHIP
// publishers and pulls). Once closed it refuses new ones.
type Sessions[T comparable] struct {
	mu     sync.Mutex
	closed bool
	m      map[string]T
}

// Add records v under id; false after Close.
func (t *Sessions[T]) Add(id string, v T) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.m == nil {
		t.m = make(map[string]T)
	}
	t.m[id] = v
	return true
}

// Remove forgets id if it is still v, and reports whether it was.
func (t *Sessions[T]) Remove(id string, v T) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.m[id]; !ok || cur != v {
		return false
	}
	delete(t.m, id)
	return true
}

// Get returns the session id.
func (t *Sessions[T]) Get(id string) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[id]
	return v, ok
}

// All returns every session (a copy).
func (t *Sessions[T]) All() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]T, 0, len(t.m))
	for _, v := range t.m {
		out = append(out, v)
	}
	return out
}

// Close refuses new sessions from now on. The first call returns every
// session, for the owner to close, and true; later calls nothing and
// false.
func (t *Sessions[T]) Close() ([]T, bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, false
	}
	t.closed = true
	t.mu.Unlock()
	return t.All(), true
}

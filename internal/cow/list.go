package cow

import (
	"sync"
	"sync/atomic"
)

// List is a copy-on-write list. The zero List is empty and ready to use; it
// must not be copied after first use.
type List[T comparable] struct {
	mu sync.Mutex // serializes changes; reads never take it
	p  atomic.Pointer[[]T]
}

// Load returns the current members. The slice is shared: never modify it.
func (l *List[T]) Load() []T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Len returns how many members there are.
func (l *List[T]) Len() int { return len(l.Load()) }

// Add appends v and returns the new length.
func (l *List[T]) Add(v T) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.Load()
	next := make([]T, len(old), len(old)+1)
	copy(next, old)
	next = append(next, v)
	l.p.Store(&next)
	return len(next)
}

// Remove removes every occurrence of v and returns the new length.
func (l *List[T]) Remove(v T) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.Load()
	next := make([]T, 0, len(old))
	for _, x := range old {
		if x != v {
			next = append(next, x)
		}
	}
	l.p.Store(&next)
	return len(next)
}

// Clear removes every member and returns the ones there were.
func (l *List[T]) Clear() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.Load()
	l.p.Store(nil)
	return old
}

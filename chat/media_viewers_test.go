package chat

import (
	"maps"
	"slices"
	"sync"
)

// fakeMedia stands in for the media streams that own the media viewer
// counts (media.Registry in cmd).
type fakeMedia struct {
	mu sync.Mutex
	n  map[string]map[string]int
}

var _ MediaViewers = (*fakeMedia)(nil)

// add counts a media viewer of the gig until release (idempotent).
func (f *fakeMedia) add(gigID, proto string) (release func()) {
	f.change(gigID, proto, 1)
	var once sync.Once
	return func() { once.Do(func() { f.change(gigID, proto, -1) }) }
}

func (f *fakeMedia) change(gigID, proto string, d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = make(map[string]map[string]int)
	}
	if f.n[gigID] == nil {
		f.n[gigID] = make(map[string]int)
	}
	f.n[gigID][proto] += d
	if f.n[gigID][proto] <= 0 {
		delete(f.n[gigID], proto)
	}
	if len(f.n[gigID]) == 0 {
		delete(f.n, gigID)
	}
}

func (f *fakeMedia) GigViewers(gigID string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.n[gigID])
}

func (f *fakeMedia) LiveGigs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Keys(f.n))
}

// withMedia returns cfg reading media viewers from a new fakeMedia.
func withMedia(cfg Config) (Config, *fakeMedia) {
	f := &fakeMedia{}
	cfg.MediaViewers = f
	return cfg, f
}

package media

import "sync"

// viewerCounts counts a stream's viewers per protocol.
type viewerCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (v *viewerCounts) add(proto string, d int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n == nil {
		v.n = make(map[string]int)
	}
	v.n[proto] += d
	if v.n[proto] <= 0 {
		delete(v.n, proto)
	}
}

func (v *viewerCounts) snapshot() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.n))
	for k, n := range v.n {
		out[k] = n
	}
	return out
}

// AddViewer counts one viewer of protocol proto ("webrtc", "flv", "ws-flv")
// until the returned release function is called (idempotent).
// A viewer hook set by the Registry (see Registry.OnViewer) is told too.
func (s *Stream) AddViewer(proto string) (release func()) {
	s.viewers.add(proto, 1)
	hookRelease := func() {}
	if hook := s.viewerHook.Load(); hook != nil {
		hookRelease = (*hook)(s.cfg.GigID, proto)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.viewers.add(proto, -1)
			hookRelease()
		})
	}
}

// Viewers returns the number of viewers of every protocol together.
func (s *Stream) Viewers() int {
	n := 0
	for _, c := range s.viewers.snapshot() {
		n += c
	}
	return n
}

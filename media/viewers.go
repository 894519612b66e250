package media

import "sync"

// viewerCounts counts a stream's viewers per protocol. It is the one count
// of who watches: the SFU and the FLV handler add their viewers here, and
// the API, chat presence, metrics and the cluster's load read it (through
// Stream.Viewers, ViewerCounts, Stats or Registry.GigViewers). Admission
// slots (internal/slots) are another thing: they include sessions still
// being set up.
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
func (s *Stream) AddViewer(proto string) (release func()) {
	s.viewers.add(proto, 1)
	var once sync.Once
	return func() { once.Do(func() { s.viewers.add(proto, -1) }) }
}

// Viewers returns the number of viewers of every protocol together.
func (s *Stream) Viewers() int {
	n := 0
	for _, c := range s.viewers.snapshot() {
		n += c
	}
	return n
}

// ViewerCounts returns the number of viewers per protocol (a copy).
func (s *Stream) ViewerCounts() map[string]int { return s.viewers.snapshot() }

package ingest

import "sync/atomic"

// Counters is a snapshot of the connections and publishes the server
// refused since it started. Every field only grows.
type Counters struct {
	// ConnsRefused counts connections closed at once because MaxConns
	// were open.
	ConnsRefused uint64
	// KeysRefused counts publishes refused for an unknown (or rotated)
	// stream key or a failed key lookup.
	KeysRefused uint64
}

type counters struct {
	connsRefused, keysRefused atomic.Uint64
}

// Counters returns a snapshot of the server's counters.
func (s *Server) Counters() Counters {
	return Counters{
		ConnsRefused: s.ctr.connsRefused.Load(),
		KeysRefused:  s.ctr.keysRefused.Load(),
	}
}

package ingest

import "sync/atomic"

// Counters is a snapshot of the connections and publishes the server
// refused since it started. Every field only grows.
type Counters struct {
	// ConnsRefused counts connections closed at once because MaxConns
	// were open and all of them publishing.
	ConnsRefused uint64
	// IPConnsRefused counts connections closed at once because
	// MaxConnsPerIP were open from their address.
	IPConnsRefused uint64
	// Evicted counts connections that had not published yet, closed to
	// make room for a newer one when MaxConns were open.
	Evicted uint64
	// PrePublishClosed counts connections closed before publishing because
	// PublishTimeout passed or they sent more than PrePublishBytes.
	PrePublishClosed uint64
	// Malformed counts connections closed for a chunk stream or AMF
	// message that the RTMP library would choke on (see chunkGuard).
	Malformed uint64
	// KeysRefused counts publishes refused for an unknown (or rotated)
	// stream key or a failed key lookup.
	KeysRefused uint64
}

type counters struct {
	connsRefused, keysRefused, ipConnsRefused, evicted, prePublishClosed, malformed atomic.Uint64
}

// Counters returns a snapshot of the server's counters.
func (s *Server) Counters() Counters {
	return Counters{
		ConnsRefused:     s.ctr.connsRefused.Load(),
		KeysRefused:      s.ctr.keysRefused.Load(),
		IPConnsRefused:   s.ctr.ipConnsRefused.Load(),
		Evicted:          s.ctr.evicted.Load(),
		PrePublishClosed: s.ctr.prePublishClosed.Load(),
		Malformed:        s.ctr.malformed.Load(),
	}
}

package sfu

import (
	"github.com/bookmygig/bookmygig/media"
)

// Publishers returns the number of WHIP broadcasts on this node.
func (s *SFU) Publishers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.publishers {
		if !p.relay {
			n++
		}
	}
	return n
}

// addPublisher registers p and its broadcaster (which lives until the
// stream ends).
func (s *SFU) addPublisher(p *publisher) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.publishers[p.id] = p
	s.trackBroadcasterLocked(p.stream, p.b)
	return nil
}

func (s *SFU) removePublisher(p *publisher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publishers[p.id] == p {
		delete(s.publishers, p.id)
	}
}

func (s *SFU) publisher(gigID, id string) (*publisher, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.publishers[id]
	if !ok || p.gigID != gigID || p.relay {
		return nil, false
	}
	return p, true
}

// publisherOf returns this node's WHIP publisher of st, if any.
func (s *SFU) publisherOf(st *media.Stream) *publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.publishers {
		if p.stream == st {
			return p
		}
	}
	return nil
}

// trackBroadcasterLocked records b as st's broadcaster until st ends.
func (s *SFU) trackBroadcasterLocked(st *media.Stream, b *broadcaster) {
	s.broadcasters[st] = b
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-st.Done():
		case <-s.ctx.Done():
		}
		b.close()
		s.mu.Lock()
		if s.broadcasters[st] == b {
			delete(s.broadcasters, st)
		}
		s.mu.Unlock()
	}()
}

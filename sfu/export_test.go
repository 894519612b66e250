package sfu

import "github.com/bookmygig/bookmygig/media"

// FanoutViewers is how many viewers st's fan-out loop serves (0 without a
// loop).
func FanoutViewers(s *SFU, st *media.Stream) int {
	s.mu.Lock()
	b := s.broadcasters[st]
	s.mu.Unlock()
	if b == nil {
		return 0
	}
	l := b.fan.Load()
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// HoldFanout stops st's fan-out loop (as a loop too slow to keep up would
// be) until release is called.
func HoldFanout(s *SFU, st *media.Stream) (release func()) {
	s.mu.Lock()
	b := s.broadcasters[st]
	s.mu.Unlock()
	l := b.fanLoop(&s.ctr)
	l.mu.Lock()
	return l.mu.Unlock
}

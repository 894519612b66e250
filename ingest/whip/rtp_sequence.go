package whip

// rtpSequence is a depacketizer's view of its track's sequence numbers and
// timestamps: which packets are late, where a unit (access unit, frame)
// starts, and where one lost a packet. Both depacketizers use it.
type rtpSequence struct {
	started bool
	lastSeq uint16
	ts      uint32
	// broken: the current unit lost a packet; it is dropped whole.
	broken bool
}

// next takes a packet's sequence number and timestamp. late: a late or
// duplicate packet (a retransmission forwarded to the viewers), whose unit
// was dropped already: ignore it. fresh: ts starts a new unit, and the
// caller clears what it gathered (unfinished tells whether the previous
// unit was left without its marker, which counts as lost). lost: such an
// unfinished unit, or a gap.
func (s *rtpSequence) next(seq uint16, ts uint32, unfinished bool) (late, fresh, lost bool) {
	if !s.started {
		s.started, s.lastSeq = true, seq
		s.restart(ts)
		return false, true, false
	}
	diff := int16(seq - s.lastSeq)
	if diff <= 0 {
		return true, false, false
	}
	if ts != s.ts {
		fresh, lost = true, unfinished
		s.restart(ts)
	}
	if diff != 1 {
		s.broken, lost = true, true
	}
	s.lastSeq = seq
	return false, fresh, lost
}

// restart begins a unit at ts (after a marker, or at a new timestamp).
func (s *rtpSequence) restart(ts uint32) { s.ts, s.broken = ts, false }

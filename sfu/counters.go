package sfu

import "sync/atomic"

// Counters is a snapshot of what the SFU has sent its WHEP viewers and what
// they asked for, since it started. Every field only grows.
type Counters struct {
	// PacketsSent and BytesSent count the RTP packets (and their payload
	// bytes) written to viewers; retransmissions are not included.
	PacketsSent, BytesSent uint64
	// NACKs counts the packets viewers asked to have resent; Retransmits
	// the ones that were still cached and went out again.
	NACKs, Retransmits uint64
	// PLIs counts picture loss indications and FIRs from viewers.
	PLIs uint64
	// Skips counts slow viewers that the ring moved past, skipped to the
	// next keyframe.
	Skips uint64
	// Dropped counts viewer sessions ended because writes kept failing.
	Dropped uint64
	// ViewerCapHits counts WHEP offers refused by the viewer cap;
	// SDPTooLarge the WHEP bodies over MaxSDPBytes (WHIP counts its own).
	ViewerCapHits, SDPTooLarge uint64
	// TicketRefused counts WHEP offers the Gate refused (401);
	// TicketEnded the sessions closed because their Pass ended (ticket
	// revoked, or watching elsewhere); GateFailures the offers answered 503
	// because the Gate failed.
	TicketRefused, TicketEnded, GateFailures uint64
	// AddrCapHits counts WHEP offers refused because their client address
	// had MaxSessionsPerIP sessions; RateLimited the offers over OfferRate.
	AddrCapHits, RateLimited uint64
	// CandidatesDropped counts remote ICE candidates with non-public
	// addresses removed from WHEP offers and trickle PATCHes.
	CandidatesDropped uint64
	// FanoutSyscalls counts the system calls the streams' fan-out loops
	// made to send live packets to their viewers, FanoutPackets the
	// packets those calls carried (many viewers' frames per call).
	FanoutSyscalls, FanoutPackets uint64
}

// counters are the live atomics behind Counters. The packet counts are
// added once per batch a viewer writes, not once per packet.
type counters struct {
	packets, bytes, nacks, rtx, plis, skips, dropped, capHits atomic.Uint64
	refused, passEnded, gateFailures                          atomic.Uint64
	addrCapHits, rateLimited                                  atomic.Uint64
	fanCalls, fanPackets                                      atomic.Uint64
}

// sent counts a batch written by a viewer; nil (unit tests) counts nothing.
func (c *counters) sent(packets, bytes uint64) {
	if c == nil || packets == 0 {
		return
	}
	c.packets.Add(packets)
	c.bytes.Add(bytes)
}

// fanout counts a fan-out loop's flush; nil counts nothing.
func (c *counters) fanout(calls, packets int) {
	if c != nil && calls > 0 {
		c.fanCalls.Add(uint64(calls))
		c.fanPackets.Add(uint64(packets))
	}
}

// skip counts a viewer skipped to a keyframe; nil counts nothing.
func (c *counters) skip() {
	if c != nil {
		c.skips.Add(1)
	}
}

// Counters returns a snapshot of the SFU's counters.
func (s *SFU) Counters() Counters {
	c := &s.ctr
	return Counters{
		PacketsSent:   c.packets.Load(),
		BytesSent:     c.bytes.Load(),
		NACKs:         c.nacks.Load(),
		Retransmits:   c.rtx.Load(),
		PLIs:          c.plis.Load(),
		Skips:         c.skips.Load(),
		Dropped:       c.dropped.Load(),
		ViewerCapHits: c.capHits.Load(),
		SDPTooLarge:   s.sig.SDPTooLarge.Load(),
		TicketRefused: c.refused.Load(),
		TicketEnded:   c.passEnded.Load(),
		GateFailures:  c.gateFailures.Load(),
		AddrCapHits:   c.addrCapHits.Load(),
		RateLimited:   c.rateLimited.Load(),

		CandidatesDropped: s.sig.CandidatesDropped.Load(),
		FanoutSyscalls:    c.fanCalls.Load(),
		FanoutPackets:     c.fanPackets.Load(),
	}
}

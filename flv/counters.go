package flv

import "sync/atomic"

// Counters is a snapshot of what the handler has sent its HTTP-FLV and
// WS-FLV viewers since it started. Every field only grows.
type Counters struct {
	// Tags and Bytes count the FLV tags (and their bytes, PreviousTagSize
	// included, transport framing not) written to viewers, per transport.
	HTTPTags, HTTPBytes uint64
	WSTags, WSBytes     uint64
	// Writes counts the batches written to viewers (both transports): one
	// writev each, so Writes per viewer-second is the syscall rate the
	// fan-out costs.
	Writes uint64
	// Skips counts slow viewers whose full queue made them skip to the next
	// keyframe; Stalled the viewers dropped because their connection
	// accepted nothing for StallTimeout.
	Skips, Stalled uint64
	// TicketRefused counts requests the Gate refused (401); TicketEnded the
	// viewers cut off because their Pass ended (ticket revoked, or watching
	// elsewhere); GateFailures the requests answered 503 because the Gate
	// failed.
	TicketRefused, TicketEnded, GateFailures uint64
	// ViewerCapHits counts requests refused by MaxViewers (503);
	// AddrCapHits those refused by MaxViewersPerIP (429).
	ViewerCapHits, AddrCapHits uint64
}

// counters are the live atomics behind Counters: a viewer adds once per
// batch it writes.
type counters struct {
	httpTags, httpBytes, wsTags, wsBytes, writes, skips, stalled atomic.Uint64
	refused, passEnded, gateFailures                             atomic.Uint64
	capHits, addrCapHits                                         atomic.Uint64
}

// sent counts a batch written to a viewer of proto ("flv" or "ws-flv").
func (c *counters) sent(proto string, batch []*tag) {
	var n uint64
	for _, t := range batch {
		n += uint64(t.size())
	}
	c.writes.Add(1)
	if proto == "ws-flv" {
		c.wsTags.Add(uint64(len(batch)))
		c.wsBytes.Add(n)
		return
	}
	c.httpTags.Add(uint64(len(batch)))
	c.httpBytes.Add(n)
}

// skip counts a viewer skipped to a keyframe; nil (unit tests) counts nothing.
func (c *counters) skip() {
	if c != nil {
		c.skips.Add(1)
	}
}

// Counters returns a snapshot of the handler's counters.
func (h *Handler) Counters() Counters {
	c := &h.ctr
	return Counters{
		HTTPTags:      c.httpTags.Load(),
		HTTPBytes:     c.httpBytes.Load(),
		WSTags:        c.wsTags.Load(),
		WSBytes:       c.wsBytes.Load(),
		Writes:        c.writes.Load(),
		Skips:         c.skips.Load(),
		Stalled:       c.stalled.Load(),
		TicketRefused: c.refused.Load(),
		TicketEnded:   c.passEnded.Load(),
		GateFailures:  c.gateFailures.Load(),
		ViewerCapHits: c.capHits.Load(),
		AddrCapHits:   c.addrCapHits.Load(),
	}
}

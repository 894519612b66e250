package chat

import (
	"context"
	"time"
)

// MediaViewers is where the hub reads this node's media viewers (WebRTC,
// FLV, WS-FLV) of a gig. Their counts are owned by the media streams
// (media.Registry implements this; cmd passes it): the hub keeps no copy.
// What it counts itself is its chat members, who may not be watching at
// all (a chat-only viewer) and so are state of their own; a member who is
// ("watching" in its join, or chat over the media session's data channel)
// is counted by the media session only. Presence is the two together.
type MediaViewers interface {
	// GigViewers returns this node's media viewers of the gig by protocol.
	GigViewers(gigID string) map[string]int
	// LiveGigs returns the gigs with a live stream on this node.
	LiveGigs() []string
}

// gigPresence is this node's presence in one gig. Guarded by Hub.mu.
type gigPresence struct {
	// chat is the chat members counted as viewers (not watching media).
	chat int
	// sent is the total the broker last took for this node (0 before the
	// first heartbeat), so only changes are written.
	sent int
	// others is the last known sum of the other nodes' counts.
	others int
}

func (h *Hub) addChatViewerLocked(gig string, delta int) {
	p := h.presence[gig]
	if p == nil {
		p = &gigPresence{}
		h.presence[gig] = p
	}
	p.chat += delta
}

// mediaViewers returns this node's media viewers of the gig by protocol
// (nil without a MediaViewers). Never called with h.mu held.
func (h *Hub) mediaViewers(gigID string) map[string]int {
	if h.cfg.MediaViewers == nil {
		return nil
	}
	return h.cfg.MediaViewers.GigViewers(gigID)
}

func sumCounts(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

// LocalViewers returns this node's viewers of the gig per protocol ("chat"
// for counted chat connections, the media protocols as the streams count
// them).
func (h *Hub) LocalViewers(gigID string) map[string]int {
	out := make(map[string]int)
	for k, v := range h.mediaViewers(gigID) {
		if v > 0 {
			out[k] = v
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.presence[gigID]; p != nil && p.chat > 0 {
		out["chat"] = p.chat
	}
	return out
}

// Viewers returns the gig's viewers on every node and protocol. When the
// broker is unreachable it falls back to the last known count of the others.
func (h *Hub) Viewers(gigID string) int {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
	defer cancel()
	counts, err := h.broker.Presence(ctx, gigID)
	local := sumCounts(h.mediaViewers(gigID))
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.presence[gigID]
	if p != nil {
		local += p.chat
	}
	if err != nil {
		h.brokerHealth.report(h.log, err)
		if p != nil {
			return local + p.others
		}
		return local
	}
	others := sumOthers(counts, h.cfg.NodeID)
	if p != nil {
		p.others = others
	}
	return local + others
}

// viewersCached is Viewers without a broker round-trip.
func (h *Hub) viewersCached(gigID string) int {
	n := sumCounts(h.mediaViewers(gigID))
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.presence[gigID]; p != nil {
		n += p.chat + p.others
	}
	return n
}

func sumOthers(counts map[string]int, self string) int {
	n := 0
	for node, v := range counts {
		if node != self {
			n += v
		}
	}
	return n
}

// presenceLoop heartbeats this node's counts and pushes totals to rooms
// when they change, at most once per PresencePush.
func (h *Hub) presenceLoop() {
	t := time.NewTicker(h.cfg.PresencePush)
	defer t.Stop()
	lastBeat := time.Time{}
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			full := now.Sub(lastBeat) >= h.cfg.HeartbeatInterval
			if full {
				lastBeat = now
			}
			h.heartbeat(full)
			h.pushPresence()
		}
	}
}

type beat struct {
	gig   string
	count int
}

// heartbeat writes the counts that changed since the broker last took
// them, or every non-zero count when full.
func (h *Hub) heartbeat(full bool) {
	// The media counts are read first, without h.mu.
	var media map[string]int
	if h.cfg.MediaViewers != nil {
		gigs := h.cfg.MediaViewers.LiveGigs()
		media = make(map[string]int, len(gigs))
		for _, gig := range gigs {
			media[gig] = sumCounts(h.cfg.MediaViewers.GigViewers(gig))
		}
	}
	h.mu.Lock()
	for gig, n := range media {
		if n > 0 && h.presence[gig] == nil {
			h.presence[gig] = &gigPresence{}
		}
	}
	var beats []beat
	for gig, p := range h.presence {
		total := p.chat + media[gig]
		if total != p.sent || (full && total > 0) {
			beats = append(beats, beat{gig, total})
		}
		if total <= 0 && p.sent <= 0 && h.rooms[gig] == nil {
			delete(h.presence, gig)
		}
	}
	h.mu.Unlock()
	for _, b := range beats {
		ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
		err := h.broker.Heartbeat(ctx, b.gig, h.cfg.NodeID, b.count, h.cfg.PresenceTTL)
		cancel()
		if err != nil {
			// Nothing is marked sent: the next tick tries again.
			h.brokerHealth.report(h.log, err)
			return
		}
		h.brokerHealth.ok(h.log)
		h.mu.Lock()
		if p := h.presence[b.gig]; p != nil {
			p.sent = b.count
		}
		h.mu.Unlock()
	}
}

// pushPresence refreshes the other nodes' counts of every local room and
// tells the room when the total changed.
func (h *Hub) pushPresence() {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		total := h.Viewers(r.gig)
		if total != r.lastPresence {
			r.lastPresence = total
			r.broadcast(frame{data: encode(presenceFrame{Type: "presence", Viewers: total})})
		}
	}
}

// clearPresence removes this node's entries on a clean shutdown, so the
// totals drop at once rather than after PresenceTTL.
func (h *Hub) clearPresence() {
	h.mu.Lock()
	gigs := make([]string, 0, len(h.presence))
	for gig := range h.presence {
		gigs = append(gigs, gig)
	}
	// Viewers tracked after Close are local only.
	h.presence = make(map[string]*gigPresence)
	h.mu.Unlock()
	for _, gig := range gigs {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.BrokerTimeout)
		_ = h.broker.Heartbeat(ctx, gig, h.cfg.NodeID, 0, h.cfg.PresenceTTL)
		cancel()
	}
}

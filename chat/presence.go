package chat

import (
	"context"
	"sync"
	"time"
)

// gigPresence is this node's viewers of one gig. Guarded by Hub.mu.
type gigPresence struct {
	byProtocol map[string]int
	total      int
	// dirty means the broker has not seen the current total yet.
	dirty bool
	// others is the last known sum of the other nodes' counts.
	others int
}

func (h *Hub) addViewerLocked(gig, protocol string, delta int) {
	p := h.presence[gig]
	if p == nil {
		p = &gigPresence{byProtocol: make(map[string]int)}
		h.presence[gig] = p
	}
	p.byProtocol[protocol] += delta
	if p.byProtocol[protocol] <= 0 {
		delete(p.byProtocol, protocol)
	}
	p.total += delta
	p.dirty = true
}

// TrackViewer counts a viewer of the gig that does not chat through this hub
// (protocol names it for logs and stats: "webrtc", "flv", ...). Call the
// returned release exactly when the viewer leaves; extra calls do nothing.
func (h *Hub) TrackViewer(gigID, protocol string) (release func()) {
	h.mu.Lock()
	h.addViewerLocked(gigID, protocol, 1)
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.addViewerLocked(gigID, protocol, -1)
			h.mu.Unlock()
		})
	}
}

// LocalViewers returns this node's viewers of the gig per protocol ("chat"
// for counted chat connections).
func (h *Hub) LocalViewers(gigID string) map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int)
	if p := h.presence[gigID]; p != nil {
		for k, v := range p.byProtocol {
			out[k] = v
		}
	}
	return out
}

// Viewers returns the gig's viewers on every node and protocol. When the
// broker is unreachable it falls back to the last known count of the others.
func (h *Hub) Viewers(gigID string) int {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
	defer cancel()
	counts, err := h.broker.Presence(ctx, gigID)
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.presence[gigID]
	local := 0
	if p != nil {
		local = p.total
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
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.presence[gigID]; p != nil {
		return p.total + p.others
	}
	return 0
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

// heartbeat writes changed counts, or every non-zero count when full.
func (h *Hub) heartbeat(full bool) {
	h.mu.Lock()
	var beats []beat
	for gig, p := range h.presence {
		if p.dirty || (full && p.total > 0) {
			beats = append(beats, beat{gig, p.total})
			p.dirty = false
		}
		if p.total <= 0 && h.rooms[gig] == nil {
			delete(h.presence, gig)
		}
	}
	h.mu.Unlock()
	for _, b := range beats {
		ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
		err := h.broker.Heartbeat(ctx, b.gig, h.cfg.NodeID, b.count, h.cfg.PresenceTTL)
		cancel()
		if err != nil {
			h.brokerHealth.report(h.log, err)
			h.mu.Lock()
			if p := h.presence[b.gig]; p != nil {
				p.dirty = true
			}
			h.mu.Unlock()
			return
		}
		h.brokerHealth.ok(h.log)
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

package chat

import "sync/atomic"

// Counters is a snapshot of the hub's chat traffic and refusals since it
// started. Every field but Viewers only grows.
type Counters struct {
	// Messages counts chat messages delivered to this node's rooms: sent
	// here (Local) or relayed from other nodes (Remote).
	Local, Remote uint64
	// Evicted counts clients disconnected because their queue was full.
	Evicted uint64
	// RateLimited counts messages refused by the per-client rate limit.
	RateLimited uint64
	// PerIPRefused counts connections refused by MaxConnsPerIP.
	PerIPRefused uint64
	// TicketRefused counts joins the access gate refused (no, a bad or a
	// revoked ticket); GateFailed counts joins refused because the gate
	// could not answer.
	TicketRefused, GateFailed uint64
	// AuthFailed counts joins refused for a wrong credential (manage token
	// or ticket); AuthLimited counts joins and connections refused because
	// an address or connection failed too often.
	AuthFailed, AuthLimited uint64
	// ModerationNotSaved counts moderation actions the broker never took
	// (they held on their node only).
	ModerationNotSaved uint64
	// Viewers is the chat connections counted as viewers right now (the
	// WebSocket chatters; data-channel chat counts with its media session).
	Viewers int
}

type counters struct {
	local, remote, evicted, rateLimited, perIP atomic.Uint64
	ticketRefused, gateFailed                  atomic.Uint64
	authFailed, authLimited, modNotSaved       atomic.Uint64
}

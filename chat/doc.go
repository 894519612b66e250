// Package chat is the realtime chat of a gig: one Hub per node, rooms per gig,
// a Broker that relays events between nodes (MemoryBroker in-process,
// RedisBroker over Redis pub/sub), history, presence (viewer counts across
// nodes and protocols), flood control and moderation by the gig's creator.
//
// Two transports speak the same protocol: WebSocket (Hub.ServeWS, mounted at
// /api/gigs/{id}/chat) and any message-oriented connection such as a WebRTC
// data channel (Hub.Attach with a Conn adapter), so this package never
// imports pion.
//
// # PROTOCOL
//
// Every frame is one JSON object (a WebSocket text frame or one data-channel
// message) with a "type" field. Unknown fields are ignored. Frames larger than
// Config.MaxFrameBytes (default 4 KiB) are answered with an error "too_large"
// and the connection is closed (WebSocket close code 1009).
//
// Client to server:
//
//	{"type":"join","name":"Ann"}                    join the gig's room; name 1-32 characters, no control characters
//	{"type":"join","name":"Ann","guest":"g_.."}     join as the guest the server named in an earlier "joined" (see Guests)
//	{"type":"join","name":"Ann","token":"<manage>"} join as the creator (moderator); a bad token is an error "unauthorized"
//	{"type":"join","name":"Ann","watching":true}    "watching": this viewer is already counted by a media session
//	                                                (WHEP, FLV) of the same page, so the chat connection does not add one
//	{"type":"join","name":"Ann","ticket":"tk_.."}   join a ticketed gig with its ticket (see Tickets); "name" may be
//	                                                left out, the ticket's name is used
//	{"type":"message","text":"hello"}               text is trimmed, 1-500 characters (runes), plain text
//	{"type":"delete","id":"<message id>"}           creator only: remove a message for everyone, including history
//	{"type":"mute","user":"<user id>","seconds":60} creator only: the user cannot send for N seconds (0 unmutes)
//	{"type":"ban","user":"<user id>"}               creator only: disconnect the user; the user cannot rejoin (see Guests
//	                                                for its address; a ticket holder: the ticket, from any address)
//	{"type":"unban","user":"<user id>"}             creator only: lift the ban (and the address ban that came with it)
//	{"type":"slow","seconds":10}                    creator only: one message per N seconds per user (0 turns it off)
//
// Server to client:
//
//	{"type":"joined","user":"u_3f9a1c2b7d04","name":"Ann","creator":false,"guest":"g_.."}
//	                                                the answer to join; "user" is the participant's id: "u_..." for a
//	                                                guest, the same for every connection that brings its "guest" token;
//	                                                "t_..." for a ticket holder, the same for every connection of the ticket.
//	                                                "guest" (guests only): the token to keep and send in later joins
//	{"type":"history","messages":[<message>...]}    right after joined: the last 100 messages, oldest first
//	{"type":"message","id":"..","user":"..","name":"..","text":"..","ts":1712345678901,"creator":true}
//	                                                ts is Unix milliseconds; "creator" only when true
//	{"type":"system","text":"slow mode: one message every 10 s"}
//	{"type":"presence","viewers":42}                viewers of the gig on every node and protocol, pushed on change (at most ~1/s)
//	{"type":"deleted","id":".."}                    drop that message from the page
//	{"type":"moderation","action":"mute","user":"..","seconds":60}
//	{"type":"moderation","action":"ban","user":".."}
//	{"type":"moderation","action":"unban","user":".."}
//	{"type":"bans","users":["u_..",..]}             to the creator after joined, when the gig has bans: the banned user ids
//	{"type":"moderation","action":"slow","seconds":10}
//	{"type":"error","code":"rate_limited","message":"..","retry_after_ms":5000}
//	{"type":"restarting"}                           the server is shutting down; reconnect after a short delay
//
// Error codes: bad_request (bad JSON, unknown type), too_large, invalid_name,
// invalid_text, not_joined, already_joined, rate_limited, slow_mode, muted,
// banned, forbidden (moderation without the creator's token), unauthorized
// (wrong token), too_many_connections (per-IP cap), unavailable (moderation
// disabled, server closing, or the ticket check failing), ticket_required,
// invalid_ticket, ticket_revoked (see Tickets), moderation_not_saved (to
// the creator: an action holds on its node but the broker did not take it
// within RelayRetry, so other nodes and later rooms may not enforce it; do
// it again later). After banned, too_large, too_many_connections, the
// ticket codes, an unavailable ticket check and a rate_limited join (see
// Flood control) the server closes the connection.
//
// # Guests
//
// A join without a ticket or manage token is a guest's. A guest joining
// without a valid "guest" token (none, forged, or older than GuestTTL, 30
// days) gets a new one in "joined"; pages keep it (per site) and send it
// in every later join, on any gig and node. The token is signed with the
// cluster's GuestKey, and the user id derived from it one way
// (GuestUserID), so mute, ban and slow mode follow the guest across
// reconnects, addresses and nodes, and a user id seen in chat reveals no
// token. Banning a guest bans its user id, and, for AddressBan (1 h), its
// address for identities created from it after the ban: a joiner from
// that address without a guest token, or with one minted since, is
// refused, so the banned guest cannot come back by clearing storage, while
// people behind the same address (a household, a carrier's NAT) who
// chatted before are not affected. Addresses are only stored as HMACs
// under the server key. The client address is Config.ClientIP's (the
// forwarded address behind a trusted proxy).
//
// # Tickets
//
// With Config.Gate set, every join asks the gate (access.Gate, Kind Chat)
// with the join's "ticket". Gigs the gate leaves open chat exactly as
// without one. On a ticketed gig:
//
//   - No ticket, an unknown or another gig's ticket, or a revoked one: an
//     error frame, then the connection closes with WebSocket code 4001 (a
//     page should not reconnect with the same ticket):
//     {"type":"error","code":"ticket_required","message":"this gig needs a ticket: book a ticket with POST /api/gigs/{id}/tickets ..."}
//     Codes: ticket_required, invalid_ticket (unknown, forged, another
//     gig's, payment not confirmed), ticket_revoked. If the gate cannot
//     answer (its store is down): "unavailable", close 1013 (try later).
//   - The creator passes with the manage token in "token" (checked by
//     Config.Authorize, or by the gate when Authorize is nil) or in
//     "ticket" (the gate admits it as the creator).
//   - A ticket holder's name is the name on the ticket (cut to 32
//     characters; the join's "name" is used only when the ticket has none)
//     and its user id is derived from the ticket (TicketUserID): mute and
//     ban hold for the ticket across reconnects, devices, addresses and
//     nodes. Banning a ticket holder bans the ticket, not the address, so
//     other holders behind the same address (a household, a proxy) stay.
//   - A ticket may chat on any number of connections at once (only media
//     is one screen per ticket). When the creator revokes or refunds the
//     ticket, each of its connections gets
//     {"type":"error","code":"ticket_revoked","message":"this ticket was revoked by the creator"}
//     and is closed (4001) at once.
//
// The same applies to chat over a data channel (Hub.Attach), which has no
// close codes: the connection is closed after the error frame.
//
// The server never produces HTML: names and texts are plain text and pages
// must escape them.
//
// # Flood control
//
// Per connection RateBurst messages per RateWindow (3 per 2 s), after which
// messages are refused for RateTimeout (5 s) with retry_after_ms. Per IP at
// most MaxConnsPerIP connections on a node. Refused credentials (a wrong
// manage token, a refused ticket) count too: a connection is closed after
// 3 wrong tokens (or when they exceed its message rate), and an address
// with AuthFailLimit (5) refusals within AuthFailWindow (1 min) has every
// join that carries a token or ticket refused with rate_limited
// (retry_after_ms) and the connection closed (1008) until the window ends. Every connection has a bounded
// outgoing queue (SendQueue batches); a client whose queue is full, or
// whose socket takes no write for WriteTimeout, is disconnected so it never
// slows the room. WebSocket connections are pinged every PingInterval and
// dropped when no pong arrives.
//
// # Fan-out
//
// Every server frame is its own WebSocket message (or data channel
// message), in order. A room coalesces: the first frame after a quiet
// Coalesce window (20 ms) leaves at once, frames within the window leave
// together at its end, as one write per member with the WebSocket bytes
// encoded once for the whole room. A member whose queue is empty gets the
// write straight from the fan-out (non-blocking); only what its socket does
// not take goes through its queue.
//
// # Nodes
//
// A message is delivered to the local room directly and relayed to other
// nodes through the Broker by one relay goroutine per node (so per-sender
// order holds and Redis round-trips never slow local chat). Nodes drop their
// own relayed events by node id, so every client sees a message exactly once.
// A node subscribes to a gig's broker channel when its first local member
// joins and unsubscribes when the last leaves. Moderation state (mutes, bans,
// slow mode) is stored in the broker with expiry and announced over pub/sub,
// so every node enforces it; a node whose subscription comes back after an
// outage reloads it. Broker writes (history, moderation) that fail are
// retried with backoff, in order, for up to RelayRetry (30 s); local chat
// never waits for them. A moderation action that could not be written is
// reported to the creator (moderation_not_saved). Presence: each node heartbeats its local viewer
// count per gig with a TTL; entries of a node that stopped heartbeating are
// ignored once the TTL (PresenceTTL, 30 s) has passed.
package chat

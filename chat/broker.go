package chat

import (
	"context"
	"encoding/json"
	"time"
)

// Broker is everything a Hub shares with other nodes: pub/sub relay,
// history, presence and moderation state. MemoryBroker serves one process,
// RedisBroker many nodes.
type Broker interface {
	PubSub
	HistoryStore
	PresenceStore
	RestrictionStore
}

// PubSub relays opaque events of one gig between nodes.
type PubSub interface {
	// Publish sends msg to every subscriber of the gig, including the
	// publishing node (which recognizes and drops its own events).
	Publish(ctx context.Context, gigID string, msg []byte) error
	// Subscribe registers h for the gig's events and waits (bounded by ctx)
	// until the subscription is active. Events of one publisher arrive in
	// publish order, one at a time. h(nil) means the subscription has
	// (re)become active after a broken connection: events may have been
	// missed, and state the subscriber keeps (moderation) should be reloaded. On error the subscription stays
	// registered and becomes active when the broker can; unsubscribe is
	// always non-nil and idempotent.
	Subscribe(ctx context.Context, gigID string, h func(msg []byte)) (unsubscribe func(), err error)
}

// HistoryStore keeps the last messages of every gig.
type HistoryStore interface {
	// AppendHistory adds m and keeps only the newest limit messages.
	AppendHistory(ctx context.Context, gigID string, m Message, limit int) error
	// History returns up to limit newest messages, oldest first.
	History(ctx context.Context, gigID string, limit int) ([]Message, error)
	// DeleteHistory removes the message with that id, if present.
	DeleteHistory(ctx context.Context, gigID, msgID string) error
}

// PresenceStore holds each node's viewer count per gig with an expiry, so a
// node that stops heartbeating drops out of the total.
type PresenceStore interface {
	// Heartbeat records viewers for nodeID until ttl from now; 0 viewers removes the entry.
	Heartbeat(ctx context.Context, gigID, nodeID string, viewers int, ttl time.Duration) error
	// Presence returns the unexpired viewer count per node.
	Presence(ctx context.Context, gigID string) (map[string]int, error)
}

// RestrictionStore holds a gig's moderation state so every node, including
// one that opens the room later, enforces it.
type RestrictionStore interface {
	// Restrict stores r, replacing one of the same kind and target. A slow
	// mode of 0 seconds or an Until in the past removes it.
	Restrict(ctx context.Context, gigID string, r Restriction) error
	// Restrictions returns the gig's unexpired restrictions.
	Restrictions(ctx context.Context, gigID string) ([]Restriction, error)
}

// RestrictionKind names a moderation state.
type RestrictionKind string

// Restriction kinds.
const (
	// RestrictMute silences Target (a user id) until Until.
	RestrictMute RestrictionKind = "mute"
	// RestrictBan bans Target (a user id).
	RestrictBan RestrictionKind = "ban"
	// RestrictBanIP bans Target (a client address keyed with the server's
	// key, never the address itself) for identities created from it since
	// Since, until Until; User is the user whose ban it came with.
	RestrictBanIP RestrictionKind = "banip"
	// RestrictSlow limits every user to one message per Seconds; Target is empty.
	RestrictSlow RestrictionKind = "slow"
)

// Restriction is one piece of moderation state of a gig.
type Restriction struct {
	Kind    RestrictionKind `json:"kind"`
	Target  string          `json:"target,omitempty"`
	Seconds int             `json:"seconds,omitempty"`
	// Until is when the restriction ends; zero means it does not expire.
	// A ban with an Until in the past lifts it (unban).
	Until time.Time `json:"until,omitzero"`
	// Since and User: see RestrictBanIP.
	Since time.Time `json:"since,omitzero"`
	User  string    `json:"user,omitempty"`
}

// removes reports whether storing r means deleting its key.
func (r Restriction) removes(now time.Time) bool {
	if r.Kind == RestrictSlow && r.Seconds <= 0 {
		return true
	}
	return !r.Until.IsZero() && !r.Until.After(now)
}

func (r Restriction) field() string { return string(r.Kind) + ":" + r.Target }

// envelope is what nodes exchange over PubSub.
type envelope struct {
	// Node is the publishing node; a node drops its own envelopes because it
	// delivered them locally already.
	Node string `json:"node"`
	// ID is the message id when Frame is a chat message.
	ID string `json:"id,omitempty"`
	// Frame is delivered as-is to every local member of the room.
	Frame json.RawMessage `json:"frame,omitempty"`
	// Mod changes the room's moderation state.
	Mod *Restriction `json:"mod,omitempty"`
}

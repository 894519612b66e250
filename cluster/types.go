package cluster

import "time"

// Load is what a node reports about itself every couple of seconds.
type Load struct {
	// Viewers counts the node's viewers over every gig (relay sessions
	// excluded).
	Viewers int `json:"viewers"`
	// CPU is the fraction of one core the process used lately (0.35).
	CPU float64 `json:"cpu"`
	// EgressBps is the media the node sends, in bits per second.
	EgressBps int64 `json:"egress_bps"`
	// Relays counts the relay sessions the node serves to other nodes.
	Relays int `json:"relays"`
}

// NodeStatus is a live node as the directory knows it.
type NodeStatus struct {
	ID        string `json:"id"`
	RelayURL  string `json:"relay_url"`
	PublicURL string `json:"public_url"`
	Load
	// Updated is when the node last published its load.
	Updated time.Time `json:"updated"`
}

// Origin is the node that holds a gig's publisher.
type Origin struct {
	Node     string    `json:"node"`
	RelayURL string    `json:"relay_url"`
	Since    time.Time `json:"since"`
}

// Upstream is the node this node pulls a gig from.
type Upstream struct {
	Node     string
	RelayURL string
	// Depth is this node's depth in the gig's relay tree: 1 pulls from the
	// origin, 2 from a node that pulls from the origin, and so on.
	Depth int
}

// Relay is one edge of a gig's relay tree: Child pulls from Parent.
type Relay struct {
	Child  string `json:"node"`
	Parent string `json:"parent"`
}

// GigTree is a gig's origin and its live relay edges (sorted by child).
type GigTree struct {
	GigID  string  `json:"gig_id"`
	Origin string  `json:"origin"`
	Relays []Relay `json:"relays"`
}

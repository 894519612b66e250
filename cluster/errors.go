package cluster

import "errors"

var (
	// ErrNoOrigin: the gig has no origin node (nobody publishes it).
	ErrNoOrigin = errors.New("gig has no origin node")
	// ErrSelfOrigin: this node is the gig's origin; it has nothing to pull.
	ErrSelfOrigin = errors.New("this node is the gig's origin")
	// ErrTreeFull: every node of the gig's relay tree within maxDepth levels
	// already feeds Config.Fanout children.
	ErrTreeFull = errors.New("relay tree of the gig is full")
	// ErrNoRelay: this node has no relay edge for the gig and its last
	// upstream is no longer in the tree; choose a new upstream.
	ErrNoRelay = errors.New("no relay edge for this node")
)

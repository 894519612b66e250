// Package cluster is the directory of a multi-node BookMyGig cluster, kept
// in Redis: which node holds each gig's publisher (its origin), which nodes
// are alive and how loaded they are, and the relay tree through which the
// other nodes pull a gig from its origin.
//
// A gig's publisher connects to one node, which claims the gig's origin
// (ClaimOrigin) and renews the claim while the stream lasts (RenewOrigins);
// a claim that is not renewed expires after Config.OriginTTL, so a crashed
// node loses its gigs by itself. The newest claim wins: a publisher that
// reconnects to another node moves the origin there, and the old node's
// ReleaseOrigin then does nothing. Every change of owner is announced on a
// pub/sub channel that WatchOrigins reads.
//
// A node that has viewers of a gig it does not originate pulls it over WHEP
// from an upstream node, chosen by ChooseUpstream in one atomic Lua script
// so that no node feeds more than Config.Fanout children, whatever the
// number of nodes choosing at once: the origin while it has room, else the
// shallowest relay of the gig that has room (breadth first, fewest children
// first, at most maxDepth levels), never the chooser itself nor one of its
// descendants, so the edges always form a tree. Each edge expires after
// Config.RelayTTL unless renewed (RenewRelay); expired edges are dropped by
// the next script that reads the tree. The children of a node that leaves
// are not moved: their pulls end and they choose again.
//
// Every node publishes its load every couple of seconds (PublishLoad); the
// entry expires after Config.LoadTTL, so Nodes and LeastLoaded only ever
// see live nodes. Tree gives the whole picture for an admin view.
//
// RelayToken is the bearer token nodes present to each other's relay
// endpoint, derived from the shared cluster secret.
//
// Expiry scores in the sorted sets are taken from the Redis server's clock
// (TIME inside the scripts), so the nodes' clocks need not agree. The
// scripts touch several keys of one gig at once: the package targets a
// single Redis (standalone or behind Sentinel), like the rest of the server.
package cluster

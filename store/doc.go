// Package store holds the gig model, its validation, and the two storage
// engines behind one contract: MemoryStore (the embedded default) and
// RedisStore (gigs shared between nodes through Redis data structures).
//
// Both engines order lists the same way (live gigs first, then by start time,
// then by id) and page with opaque cursors, so a client cannot tell them apart.
// Secrets (stream keys, manage tokens) are returned once by Create and kept
// only as SHA-256 hashes afterwards. An ended gig is kept for a retention
// period (DefaultEndedRetention); SweepExpired then removes it and returns
// its id so that the caller can drop what other packages keep for it.
package store

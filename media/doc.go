// Package media is the meeting point of every protocol: a Frame is one parsed
// access unit, a Stream carries one live show's frames from exactly one writer
// to many readers, and the Registry maps a gig to its live Stream.
//
// Frames are parsed once at ingest and immutable afterwards. Readers are
// callbacks invoked on the writer's goroutine; they must not block (each reader
// keeps its own bounded queue and drops or skips when it is full), so a slow
// viewer can never slow the publisher or another viewer.
package media

// Package sfu serves live gigs to WebRTC viewers over WHEP.
//
// Every frame of a live media.Stream is packetized into RTP once per stream
// and track by a broadcaster (a media.Reader); the packets land in a shared
// per-stream ring that is at the same time the RTP GOP cache (everything
// since the last keyframe) and the NACK history. Each viewer session has one
// goroutine with a cursor into that ring: it starts at the last keyframe, so
// the picture appears at once whatever the encoder's keyframe interval, then
// follows the live head. Per viewer only the SSRC, the sequence and timestamp
// offsets and the SRTP context differ; the payload bytes are shared.
//
// A viewer that cannot keep up (a stalled ICE-TCP connection, write errors)
// only stalls its own goroutine: when the ring overtakes its cursor it skips
// to the newest keyframe with continuous sequence numbers, and the others
// never notice.
package sfu

// Package whip is WebRTC ingest: WHIP publishers (RFC 9725: a browser, or
// OBS 30+) and relay pulls, the edge side of a cluster relay (a WHEP
// session to the gig's origin node). Both are receive-only PeerConnections
// whose media becomes a media.Stream: the RTP goes on unchanged through the
// stream's RTPFeed to WebRTC playback (sfu), and is depacketized into
// frames for FLV viewers, stream health and the transcoder.
//
// It sits next to RTMP ingest (package ingest) and shares the node's ICE
// port and signalling helpers with WHEP playback through internal/rtc; it
// never imports sfu, nor sfu it.
package whip

package metrics

import "time"

// Sources are the snapshot functions read at every scrape. Each must be
// quick and safe for concurrent use; a nil one leaves its metrics out.
type Sources struct {
	// Streams returns the live streams by source ("rtmp", "whip").
	Streams func() map[string]int
	// Viewers returns this node's viewers by protocol ("webrtc", "flv",
	// "ws-flv", "chat").
	Viewers func() map[string]int
	// Sent returns what was sent to viewers since start, by protocol.
	Sent func() map[string]Traffic
	// Slow returns the slow and stalled viewers since start, by protocol
	// ("webrtc", "flv" for HTTP-FLV and WS-FLV together).
	Slow func() map[string]Slow
	// WebRTC returns the viewers' feedback counters.
	WebRTC func() WebRTC
	// Transcode returns the transcoders' work by direction ("aac_opus",
	// "opus_aac").
	Transcode func() map[string]Transcode
	// Chat returns the chat counters.
	Chat func() Chat
	// RTMP returns the RTMP ingest's figures.
	RTMP func() RTMP
	// StoreUnavailable returns the requests answered 503 because the store
	// engine could not be reached.
	StoreUnavailable func() uint64
	// Limits returns how often each limit refused something, by limit name
	// (LimitChatRate, ...).
	Limits func() map[string]uint64
}

// Limit names of bmg_limit_hits_total.
const (
	LimitChatRate        = "chat_rate"
	LimitChatPerIP       = "chat_per_ip"
	LimitWebRTCViewerCap = "webrtc_viewer_cap"
	LimitBodyTooLarge    = "body_too_large"
	LimitRTMPMaxConns    = "rtmp_max_conns"
	LimitRTMPPerIP       = "rtmp_per_ip"
	LimitWebRTCPerIP     = "webrtc_per_ip"
	LimitWHEPOfferRate   = "whep_offer_rate"
	LimitICEPrivate      = "ice_private_candidate"
	LimitFLVViewerCap    = "flv_viewer_cap"
	LimitFLVPerIP        = "flv_per_ip"
	LimitRTMPPrePublish  = "rtmp_pre_publish"
	LimitSDPTooLarge     = "sdp_too_large"
)

// Traffic is what one protocol sent its viewers: RTP packets for WebRTC,
// FLV tags for HTTP-FLV and WS-FLV, with their payload bytes.
type Traffic struct {
	Packets, Bytes uint64
}

// Slow counts the viewers that could not keep up: Skipped ones jumped to
// the next keyframe, Dropped ones were disconnected.
type Slow struct {
	Skipped, Dropped uint64
}

// WebRTC is what WebRTC viewers asked for, and how the fan-out loops
// sent to them (FanoutSyscalls calls carrying FanoutPackets packets).
type WebRTC struct {
	NACKs, Retransmits, PLIs      uint64
	FanoutSyscalls, FanoutPackets uint64
}

// Transcode is one transcoding direction's work.
type Transcode struct {
	FramesIn, FramesOut, Dropped uint64
	// Busy is the time spent transcoding (CPU bound: about its CPU time).
	Busy time.Duration
}

// Chat is the chat hub's counters.
type Chat struct {
	// Local messages were sent on this node, Remote ones relayed from
	// other nodes.
	Local, Remote uint64
	// Evicted clients were too slow to read; RateLimited messages were
	// refused by the rate limit.
	Evicted, RateLimited uint64
}

// RTMP is the ingest's figures.
type RTMP struct {
	// Conns is the open connections now.
	Conns int
	// KeysRefused counts publishes refused for an unknown stream key.
	KeysRefused uint64
}

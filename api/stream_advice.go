package api

import "time"

// The advice a creator sees with their stream's health (GET
// /api/gigs/:id/stream, the studio page): what media's raw figures mean for
// viewers and how to fix them in OBS. media measures; this layer explains.

// StreamWarning is a problem with the publisher's settings, in plain
// language, with the setting that fixes it.
type StreamWarning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// maxKeyframeInterval is the longest keyframe interval not warned about, in
// seconds (2 s, with room for encoder jitter).
const maxKeyframeInterval = 2.05

// StreamWarnings returns the advice for a stream whose video has B-frames
// (bFrames) and keyframes every keyframeInterval seconds; hasVideo false
// (an audio-only stream) gets none. The result is never nil, so it encodes
// as [].
func StreamWarnings(hasVideo, bFrames bool, keyframeInterval float64) []StreamWarning {
	out := []StreamWarning{}
	if !hasVideo {
		return out
	}
	if bFrames {
		out = append(out, StreamWarning{
			Code:    "b_frames",
			Message: "Your encoder sends B-frames. Browsers watching over WebRTC cannot play them smoothly, so those viewers are moved to the slower FLV player.",
			Fix:     "In OBS: Settings > Output > Output Mode: Advanced > Streaming, set \"B-frames\" to 0 (x264: add bframes=0 to x264 options).",
		})
	}
	if keyframeInterval > maxKeyframeInterval {
		out = append(out, StreamWarning{
			Code:    "keyframe_interval",
			Message: "Keyframes arrive only every " + formatSeconds(keyframeInterval) + ". Viewers who join or lose a packet wait that long for a clear picture.",
			Fix:     "In OBS: Settings > Output > Output Mode: Advanced > Streaming, set \"Keyframe Interval\" to 1 or 2 s.",
		})
	}
	return out
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}

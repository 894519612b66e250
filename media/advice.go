package media

import "time"

// The advice a creator sees with their stream's health (API, studio page):
// what the measured figures mean for viewers and how to fix it in OBS.

func warnings(v *VideoStats) []Warning {
	out := []Warning{}
	if v == nil {
		return out
	}
	if v.BFrames {
		out = append(out, Warning{
			Code:    "b_frames",
			Message: "Your encoder sends B-frames. Browsers watching over WebRTC cannot play them smoothly, so those viewers are moved to the slower FLV player.",
			Fix:     "In OBS: Settings > Output > Output Mode: Advanced > Streaming, set \"B-frames\" to 0 (x264: add bframes=0 to x264 options).",
		})
	}
	if v.KeyframeInterval > 2.05 {
		out = append(out, Warning{
			Code:    "keyframe_interval",
			Message: "Keyframes arrive only every " + formatSeconds(v.KeyframeInterval) + ". Viewers who join or lose a packet wait that long for a clear picture.",
			Fix:     "In OBS: Settings > Output > Output Mode: Advanced > Streaming, set \"Keyframe Interval\" to 1 or 2 s.",
		})
	}
	return out
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}

package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// The codec tables of every pion API (viewers, VP8 viewers, WHIP
// publishers, relay pulls) are built here, from one description of each
// codec; the APIs differ only in which codecs they list and the RTCP
// feedback they ask for.

// h264Codecs are the H.264 entries: Constrained Baseline first, then
// Baseline (see fmtpH264CB).
func h264Codecs(fb []webrtc.RTCPFeedback) []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtpH264CB, RTCPFeedback: fb}, PayloadType: ptH264CB},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtpH264B, RTCPFeedback: fb}, PayloadType: ptH264B},
	}
}

// vp8Codec is the VP8 entry.
func vp8Codec(fb []webrtc.RTCPFeedback) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: ptVP8}
}

// opusCodec is the Opus entry (48 kHz stereo, in-band FEC).
func opusCodec(fb []webrtc.RTCPFeedback) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: fmtpOpus, RTCPFeedback: fb}, PayloadType: ptOpus}
}

// newEngine registers video then audio codecs, in order: pion answers
// with the first match.
func newEngine(video, audio []webrtc.RTPCodecParameters) (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, set := range []struct {
		kind   webrtc.RTPCodecType
		codecs []webrtc.RTPCodecParameters
	}{{webrtc.RTPCodecTypeVideo, video}, {webrtc.RTPCodecTypeAudio, audio}} {
		for _, c := range set.codecs {
			if err := m.RegisterCodec(c, set.kind); err != nil {
				return nil, fmt.Errorf("register %s: %w", c.MimeType, err)
			}
		}
	}
	return m, nil
}

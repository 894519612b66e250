package rtc

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// The codec tables of every pion API (viewers, VP8 viewers, WHIP
// publishers, relay pulls) are built here, from one description of each
// codec; the APIs differ only in which codecs they list and the RTCP
// feedback they ask for.

// RTPMTU is the RTP payload size limit: 1200 bytes leaves room for the RTP
// header, SRTP tag, and IPv6/UDP or TURN/TCP framing under a 1280-byte path.
const RTPMTU = 1200

// Codec lines we offer. Chromium offers H.264 42001f, 42e01f, 4d001f and
// f4001f, and pion needs an exact profile (profile_idc + constraint flags)
// match; answering 42e01f made Chromium decode x264 High-profile streams
// without drops (DESIGN.md). 42001f is there for clients that only offer
// plain Baseline.
const (
	fmtpH264CB = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	fmtpH264B  = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"
	fmtpOpus   = "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"
	// OpusFmtp is the fmtp line of the Opus we send (answers built
	// without pion's media engine use it too).
	OpusFmtp = fmtpOpus
	ptH264CB = 102
	ptH264B  = 106
	ptOpus   = 111
	// ptVP8 is VP8's payload type, for WHIP publishers that send it
	// (WebRTC-only viewing: FLV needs H.264).
	ptVP8 = 96
)

// VideoFeedback is the RTCP feedback every side asks for on video: NACK
// (lost packets resent) and PLI/FIR (keyframe requests); transportCC adds
// transport-cc, for a sender that estimates bandwidth from it (a browser
// publishing over WHIP).
func VideoFeedback(transportCC bool) []webrtc.RTCPFeedback {
	fb := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	}
	if transportCC {
		fb = append(fb, webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC})
	}
	return fb
}

// H264Codecs are the H.264 entries: Constrained Baseline first, then
// Baseline (see fmtpH264CB).
func H264Codecs(fb []webrtc.RTCPFeedback) []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtpH264CB, RTCPFeedback: fb}, PayloadType: ptH264CB},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtpH264B, RTCPFeedback: fb}, PayloadType: ptH264B},
	}
}

// VP8Codec is the VP8 entry.
func VP8Codec(fb []webrtc.RTCPFeedback) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: ptVP8}
}

// OpusCodec is the Opus entry (48 kHz stereo, in-band FEC).
func OpusCodec(fb []webrtc.RTCPFeedback) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: fmtpOpus, RTCPFeedback: fb}, PayloadType: ptOpus}
}

// NewEngine registers video then audio codecs, in order: pion answers
// with the first match.
func NewEngine(video, audio []webrtc.RTPCodecParameters) (*webrtc.MediaEngine, error) {
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

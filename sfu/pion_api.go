package sfu

import (
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/dtls/v3"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// videoFeedback: NACK is answered from the shared per-stream history; PLI and
// FIR go to a WHIP publisher (throttled, through the stream's RTP feed),
// while an RTMP encoder cannot be asked for a keyframe, so for RTMP streams
// they only count. No transport-cc/REMB: one encoding goes to everybody,
// there is nothing to adapt per viewer.
var videoFeedback = rtc.VideoFeedback(false)

// newVP8MediaEngine is for viewers of a WHIP publisher that sends VP8. It
// is a separate engine because listing VP8 next to H.264 in answers made
// Chromium drop and freeze frames of the cached-GOP burst of H.264 streams.
func newVP8MediaEngine() (*webrtc.MediaEngine, error) {
	return rtc.NewEngine([]webrtc.RTPCodecParameters{rtc.VP8Codec(videoFeedback)}, []webrtc.RTPCodecParameters{rtc.OpusCodec(nil)})
}

// newMediaEngine is for viewers of H.264 streams.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	return rtc.NewEngine(rtc.H264Codecs(videoFeedback), []webrtc.RTPCodecParameters{rtc.OpusCodec(nil)})
}

// viewerAPIs are the viewers' PeerConnection factories on the shared port.
type viewerAPIs struct {
	h264 *webrtc.API // H.264 + Opus
	vp8  *webrtc.API // VP8 + Opus (WHIP publishers sending VP8)
	// settings build the per-session APIs of relay sessions, whose media
	// engines depend on the stream's AAC track (relay_origin.go).
	settings webrtc.SettingEngine
}

func newViewerAPIs(port *rtc.Port) (*viewerAPIs, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	m8, err := newVP8MediaEngine()
	if err != nil {
		return nil, err
	}
	// Interceptors, on purpose none of pion's defaults:
	//   - NACK: pion's responder keeps a copy of every packet per viewer
	//     track; ours answers from the per-stream ring (rtcp_viewer.go).
	//   - Sender reports: pion's derive the RTP/NTP mapping from send
	//     times, which puts the transcoder's delay between audio and video;
	//     ours map both tracks through the stream's media clock.
	//   - Receiver reports are read per sender (loss, jitter, RTT for stats).
	//   - No TWCC/REMB/GCC: one encoding for all, nothing to adapt, and the
	//     header extension would cost per packet and viewer.
	//
	// Viewers' SRTP: every packet is encrypted once per viewer, so the
	// cipher is per-packet, per-viewer CPU. pion prefers AES-256-GCM (14
	// AES rounds); AES-128-GCM (10) costs about a third less with the same
	// one-pass AEAD, and the HMAC-SHA1 profile stays for peers without GCM.
	// Whichever side picks (the DTLS server), it picks from this list.
	vse := port.SettingEngine()
	vse.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	return &viewerAPIs{
		h264:     webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(vse), webrtc.WithInterceptorRegistry(&interceptor.Registry{})),
		vp8:      webrtc.NewAPI(webrtc.WithMediaEngine(m8), webrtc.WithSettingEngine(vse), webrtc.WithInterceptorRegistry(&interceptor.Registry{})),
		settings: vse,
	}, nil
}

package whip

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// pullAACRates are the AAC sample rates a pull offers (each in stereo and
// mono): the origin answers the one its stream has, as RFC 3640 wants the
// clock rate to be the sample rate.
var pullAACRates = []uint32{48000, 44100, 32000, 24000, 22050, 16000}

// ptAACPullFirst is the first of the pull's AAC payload types.
const ptAACPullFirst = 112

// pullFeedback is what a pull asks of the origin's video: NACK (answered
// from its ring) and PLI/FIR (forwarded to its publisher, throttled).
var pullFeedback = rtc.VideoFeedback(false)

func pullVideoCodecs() []webrtc.RTPCodecParameters {
	return append(rtc.H264Codecs(pullFeedback), rtc.VP8Codec(pullFeedback))
}

func pullOpusCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{rtc.OpusCodec(nil)}
}

func pullAACCodecs() []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	pt := webrtc.PayloadType(ptAACPullFirst)
	for _, rate := range pullAACRates {
		for _, ch := range []uint16{2, 1} {
			out = append(out, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: rtc.MimeAAC, ClockRate: rate, Channels: ch, SDPFmtpLine: rtc.FmtpAACBase,
			}, PayloadType: pt})
			pt++
		}
	}
	return out
}

// newPullAPI is the pion API of relay pulls: the offering side of a WHEP
// session to another node, receive-only, with a NACK generator and
// receiver reports.
func newPullAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m, err := rtc.NewEngine(pullVideoCodecs(), append(pullOpusCodecs(), pullAACCodecs()...))
	if err != nil {
		return nil, err
	}
	ir, err := receiverInterceptors()
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

// addPullTransceivers adds the pull's receive-only m-lines: video (H.264,
// VP8), Opus, and AAC (mpeg4-generic); it returns the AAC one.
func addPullTransceivers(pc *webrtc.PeerConnection) (*webrtc.RTPTransceiver, error) {
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	var aac *webrtc.RTPTransceiver
	for _, l := range []struct {
		kind   webrtc.RTPCodecType
		codecs []webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeVideo, pullVideoCodecs()},
		{webrtc.RTPCodecTypeAudio, pullOpusCodecs()},
		{webrtc.RTPCodecTypeAudio, pullAACCodecs()},
	} {
		tr, err := pc.AddTransceiverFromKind(l.kind, recv)
		if err != nil {
			return nil, fmt.Errorf("add %s transceiver: %w", l.kind, err)
		}
		if err := tr.SetCodecPreferences(l.codecs); err != nil {
			return nil, fmt.Errorf("%s codecs: %w", l.kind, err)
		}
		aac = tr
	}
	return aac, nil
}

// pullAnswer is what a pull needs from the origin's answer before media
// flows.
type pullAnswer struct {
	videoMime string
	// aac is the origin's AAC config when it answered the AAC m-line.
	aac *media.AACConfig
}

// parsePullAnswer reads the answer: the video codec the origin sends and,
// on the m-line with aacMid, the AAC config (config=).
func parsePullAnswer(answer, aacMid string) (*pullAnswer, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return nil, fmt.Errorf("%w: not an SDP answer: %v", ErrRelayRefused, err)
	}
	out := &pullAnswer{}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 || !rtc.CanSend(m) {
			continue
		}
		mid, _ := m.Attribute("mid")
		codecs := rtpmaps(m)
		switch {
		case m.MediaName.Media == "video" && out.videoMime == "" && len(m.MediaName.Formats) > 0:
			if enc := codecs[m.MediaName.Formats[0]]; enc != "" {
				out.videoMime = "video/" + strings.Split(enc, "/")[0]
			}
		case m.MediaName.Media == "audio" && mid == aacMid:
			for pt, enc := range codecs {
				if !strings.HasPrefix(strings.ToLower(enc), "mpeg4-generic/") {
					continue
				}
				cfg, err := rtc.AACConfigFromFmtp(fmtpOf(m, pt))
				if err != nil {
					return nil, fmt.Errorf("%w: aac m-line: %v", ErrRelayRefused, err)
				}
				if rate := strings.Split(enc, "/")[1]; rate != strconv.Itoa(cfg.SampleRate) {
					return nil, fmt.Errorf("%w: aac clock rate %s for a %d Hz config", ErrRelayRefused, rate, cfg.SampleRate)
				}
				out.aac = cfg
			}
		}
	}
	if strings.EqualFold(out.videoMime, webrtc.MimeTypeH264) {
		out.videoMime = webrtc.MimeTypeH264
	} else if strings.EqualFold(out.videoMime, webrtc.MimeTypeVP8) {
		out.videoMime = webrtc.MimeTypeVP8
	}
	return out, nil
}

// rtpmaps maps an m-line's payload types to their encodings ("H264/90000").
func rtpmaps(m *sdp.MediaDescription) map[string]string {
	out := map[string]string{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		if pt, enc, ok := strings.Cut(a.Value, " "); ok {
			out[pt] = strings.TrimSpace(enc)
		}
	}
	return out
}

func fmtpOf(m *sdp.MediaDescription, pt string) string {
	for _, a := range m.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		if p, params, ok := strings.Cut(a.Value, " "); ok && p == pt {
			return strings.TrimSpace(params)
		}
	}
	return ""
}

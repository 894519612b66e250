package whip

import (
	"fmt"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// publisherFeedback is what we ask of a WHIP publisher's video: NACK (our
// receiver requests lost packets, so viewers' gaps can be filled from the
// ring), PLI/FIR (viewers' keyframe requests, forwarded and throttled) and
// transport-cc (the browser's bandwidth estimate needs feedback, or it stays
// at its start bitrate).
var publisherFeedback = rtc.VideoFeedback(true)

// apis are the PeerConnection factories of WHIP ingest, on the shared port.
type apis struct {
	// publishers negotiates WHIP publishers (receive-side interceptors).
	publishers *webrtc.API
	// pulls negotiates relay pulls from other nodes (pull.go).
	pulls *webrtc.API
}

func newAPIs(port *rtc.Port) (*apis, error) {
	pub, err := newPublisherAPI(port.SettingEngine())
	if err != nil {
		return nil, err
	}
	// Relays between nodes over UDP only: a pull over ICE-TCP costs the
	// origin a TCP write per packet (no GSO batching) and adds
	// head-of-line waits. Nodes of a cluster reach each other over UDP.
	pse := port.SettingEngine()
	pse.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	pulls, err := newPullAPI(pse)
	if err != nil {
		return nil, err
	}
	return &apis{publishers: pub, pulls: pulls}, nil
}

// newPublisherAPI is the pion API for WHIP publishers: the shared ICE
// sockets and settings, H.264 registered before VP8 (the answer's order is
// the publisher's preference, and only H.264 reaches FLV viewers), and
// receive-side interceptors: NACK generator, receiver reports and
// transport-cc feedback.
func newPublisherAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m, err := rtc.NewEngine(append(rtc.H264Codecs(publisherFeedback), rtc.VP8Codec(publisherFeedback)),
		[]webrtc.RTPCodecParameters{rtc.OpusCodec([]webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}})})
	if err != nil {
		return nil, err
	}
	ir, err := receiverInterceptors()
	if err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

// receiverInterceptors are those of the sides that receive media from
// another peer (WHIP publishers, relay pulls): a NACK generator, so lost
// packets are asked for again, and receiver reports.
func receiverInterceptors() (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	ir.Add(gen)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	return ir, nil
}

// preferH264 limits the answer's video codecs to H.264 when the publisher
// offers it, else to VP8, before the answer is made. pion otherwise answers
// in the offer's order, and browsers (and pion) offer VP8 first: the
// publisher would send VP8, or H.264 under a VP8 label, and FLV viewers and
// the stream's codec would be wrong.
func preferH264(pc *webrtc.PeerConnection) error {
	// PayloadType 0: pion takes the offer's payload type for each.
	h264 := rtc.H264Codecs(publisherFeedback)
	for i := range h264 {
		h264[i].PayloadType = 0
	}
	vp8 := rtc.VP8Codec(publisherFeedback)
	vp8.PayloadType = 0
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		var prefs []webrtc.RTPCodecParameters
		for _, c := range h264 {
			if tr.SetCodecPreferences([]webrtc.RTPCodecParameters{c}) == nil {
				prefs = append(prefs, c)
			}
		}
		if len(prefs) == 0 {
			prefs = []webrtc.RTPCodecParameters{vp8}
		}
		if err := tr.SetCodecPreferences(prefs); err != nil {
			return fmt.Errorf("%w: no video codec in common: offer H.264 (packetization-mode=1) or VP8", ErrBadOffer)
		}
	}
	return nil
}

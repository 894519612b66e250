package icelite

import (
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchmarkWriteRTP is the per-packet cost of the send path, from a
// viewer's RTP header and payload to the socket, for this transport and
// for pion/webrtc's (a TrackLocalStaticRTP on a PeerConnection: the
// interceptor writer, SRTP session, mux, ICE conn, candidate pair and UDP
// mux), both to a pion viewer on loopback. One 1,100-byte video packet
// per op; the kernel's own send (and on loopback, receive) work is in
// both.
func BenchmarkWriteRTP(b *testing.B) {
	payload := make([]byte, 1100)
	drain := whepclient.Options{OnPacket: func(*webrtc.TrackRemote, *rtp.Packet, time.Time) {}, Kinds: []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}}
	b.Run("icelite", func(b *testing.B) {
		m := startMux(b, Config{})
		_, p, a := connectViewer(b, m, nil, drain)
		h := rtp.Header{Version: 2, PayloadType: a.videoPT, SSRC: a.videoSSRC}
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			h.SequenceNumber++
			if _, err := p.WriteRTP(&h, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pion", func(b *testing.B) {
		se := webrtc.SettingEngine{}
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		me := &webrtc.MediaEngine{}
		if err := me.RegisterDefaultCodecs(); err != nil {
			b.Fatal(err)
		}
		pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		defer pc.Close()
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "bmg")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pc.AddTrack(track); err != nil {
			b.Fatal(err)
		}
		v, err := whepclient.New(drain)
		if err != nil {
			b.Fatal(err)
		}
		defer v.PC.Close()
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: v.Offer}); err != nil {
			b.Fatal(err)
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			b.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			b.Fatal(err)
		}
		<-gathered
		if err := v.SetAnswer(pc.LocalDescription().SDP); err != nil {
			b.Fatal(err)
		}
		waitFor(b, "pion sender connected", 10*time.Second, func() bool {
			return pc.ConnectionState() == webrtc.PeerConnectionStateConnected
		})
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: payload}
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			pkt.SequenceNumber++
			if err := track.WriteRTP(pkt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

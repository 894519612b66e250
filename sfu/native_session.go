package sfu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/icelite"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// nativeWriter is a down track's writer on an icelite peer.
type nativeWriter struct{ p *icelite.Peer }

func (w nativeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return w.p.WriteRTP(h, payload)
}

func (w nativeWriter) Write(b []byte) (int, error) {
	var pk rtp.Packet
	if err := pk.Unmarshal(b); err != nil {
		return 0, err
	}
	return w.p.WriteRTP(&pk.Header, pk.Payload)
}

// nativeOffer is what an icelite answer needs from an offer.
type nativeOffer struct {
	ufrag, pwd, fingerprint string
	mids                    []string
	kinds                   []string
	pts                     []int
	rtpmaps, fmtps          []string
}

// parseNativeOffer reads the (parsed) offer for an icelite session; ok is
// false for offers it does not serve, which pion's transport answers: data
// channels, rejected or repeated m-lines, no usable H.264 or Opus, ICE-TCP
// only. Every offered m-line gets one in the answer, as SDP requires.
func parseNativeOffer(sd *sdp.SessionDescription) (*nativeOffer, bool) {
	if sd == nil {
		return nil, false
	}
	o := &nativeOffer{}
	get := func(m *sdp.MediaDescription, key string) string {
		if v, ok := m.Attribute(key); ok {
			return v
		}
		v, _ := sd.Attribute(key)
		return v
	}
	udp, tcp := 0, 0
	for _, m := range sd.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.Key != "candidate" {
				continue
			}
			if f := strings.Fields(a.Value); len(f) > 2 && strings.EqualFold(f[2], "udp") {
				udp++
			} else {
				tcp++
			}
		}
	}
	if tcp > 0 && udp == 0 {
		// An ICE-TCP-only viewer: pion's transport serves it.
		return nil, false
	}
	for _, m := range sd.MediaDescriptions {
		kind := m.MediaName.Media
		if (kind != "video" && kind != "audio") || m.MediaName.Port.Value == 0 || !rtc.CanReceive(m) || slices.Contains(o.kinds, kind) {
			return nil, false
		}
		mid, _ := m.Attribute("mid")
		pt, rtpmap, fmtp := offerCodec(m, kind)
		if pt < 0 {
			return nil, false
		}
		if o.ufrag == "" {
			o.ufrag, o.pwd, o.fingerprint = get(m, "ice-ufrag"), get(m, "ice-pwd"), get(m, "fingerprint")
		}
		o.mids, o.kinds, o.pts = append(o.mids, mid), append(o.kinds, kind), append(o.pts, pt)
		o.rtpmaps, o.fmtps = append(o.rtpmaps, rtpmap), append(o.fmtps, fmtp)
	}
	if len(o.kinds) == 0 || o.kinds[0] != "video" {
		return nil, false
	}
	return o, true
}

// offerCodec is the offer's format we send on an m-line of kind.
func offerCodec(md *sdp.MediaDescription, kind string) (int, string, string) {
	if kind == "video" {
		return sendableH264(md)
	}
	for _, at := range md.Attributes {
		if at.Key != "rtpmap" {
			continue
		}
		k, v, _ := strings.Cut(at.Value, " ")
		if pt, err := strconv.Atoi(k); err == nil && strings.HasPrefix(strings.ToLower(v), "opus/") {
			return pt, v, rtc.OpusFmtp
		}
	}
	return -1, "", ""
}

// newNativeSession is newSession on the icelite transport.
func (s *SFU) newNativeSession(gigID string, st *media.Stream, no *nativeOffer, remoteIP, addr string, pass *access.Pass) (*session, string, error) {
	id := rtc.RandomID()
	vctx, cancel := context.WithCancel(s.ctx)
	log := s.sessionLog(gigID, id, false, pass).With("native", true)
	v := &session{
		id: id, gigID: gigID, remoteIP: remoteIP, addr: addr, created: time.Now(), log: log, pass: pass,
		sfu: s, rebind: make(chan struct{}, 1), connected: make(chan struct{}), closed: make(chan struct{}),
		ctx: vctx, cancel: cancel,
	}
	v.stream.Store(st)
	peer, err := s.port.Lite().NewPeer(no.ufrag, no.pwd, no.fingerprint, v.onNativeRTCP)
	if err != nil {
		cancel()
		if errors.Is(err, icelite.ErrClosed) {
			return nil, "", ErrClosed
		}
		return nil, "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	v.peer, v.remoteUfrag = peer, no.ufrag
	w := nativeWriter{peer}
	var b strings.Builder
	lu, lp := peer.LocalICE()
	cands := s.port.LiteCandidates()
	fmt.Fprintf(&b, "v=0\r\no=- %d 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE %s\r\na=fingerprint:%s\r\na=msid-semantic: WMS gig-%s\r\n",
		randomUint32()>>1, strings.Join(no.mids, " "), s.port.Lite().Fingerprint(), gigID)
	for i, kind := range no.kinds {
		var d *downTrack
		if kind == "video" {
			v.video = newVideoDownTrack(webrtc.MimeTypeH264, "gig-"+gigID, randomUint16(), randomUint32())
			d = v.video
		} else {
			v.audio = newDownTrack(webrtc.RTPCodecTypeAudio, "gig-"+gigID, randomUint16(), randomUint32())
			d = v.audio
		}
		ssrc := randomUint32()
		d.bind.Store(&trackBinding{ssrc: ssrc, pt: uint8(no.pts[i]), w: w})
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n", kind, no.pts[i], no.mids[i])
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:passive\r\na=sendonly\r\na=rtcp-mux\r\n", lu, lp)
		fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", no.pts[i], no.rtpmaps[i])
		if no.fmtps[i] != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", no.pts[i], no.fmtps[i])
		}
		if kind == "video" {
			fmt.Fprintf(&b, "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n", no.pts[i], no.pts[i], no.pts[i])
		}
		fmt.Fprintf(&b, "a=msid:gig-%s %s\r\na=ssrc:%d cname:gig-%s\r\na=ssrc:%d msid:gig-%s %s\r\n", gigID, d.id, ssrc, gigID, ssrc, gigID, d.id)
		b.WriteString(cands)
	}
	v.etag = `"` + lu + `"`
	if err := s.addSession(v); err != nil {
		cancel()
		_ = peer.Close()
		return nil, "", err
	}
	go func() {
		select {
		case <-peer.Connected():
			v.connOnce.Do(func() { close(v.connected) })
		case <-peer.Done():
		}
		<-peer.Done()
		if v.ctx.Err() == nil {
			v.close("connection closed")
		}
	}()
	v.wg.Add(1)
	go v.run()
	if s.cfg.Gate != nil {
		v.wg.Add(1)
		go v.watchPass()
	}
	return v, b.String(), nil
}

// onNativeRTCP dispatches an icelite viewer's RTCP by media SSRC.
func (v *session) onNativeRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		d := v.video
		for _, ssrc := range p.DestinationSSRC() {
			if v.audio != nil {
				if as, ok := v.audio.ssrc(); ok && as == ssrc {
					d = v.audio
				}
			}
		}
		if d == nil {
			continue
		}
		v.handleRTCP(p, d)
	}
}

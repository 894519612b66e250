package sfu

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The origin side of a relay: another node of the cluster pulls a gig over
// WHEP with the relay token (Config.RelayAuth). Such a session is not a
// viewer: no Gate, caps or offer rate limit, loopback and private
// candidates kept (nodes talk over private networks), not counted in
// Viewers or the stream's viewer counts; and it may take the stream's AAC
// (the edge's FLV viewers need it) as RFC 3640 on an mpeg4-generic m-line.

// ptAACRelay is the payload type the relay media engine registers AAC
// under; answers use the offer's.
const ptAACRelay = 97

// isRelay reports whether r carries a token RelayAuth accepts. The token is
// never logged.
func (s *SFU) isRelay(r *http.Request) bool {
	if s.cfg.RelayAuth == nil {
		return false
	}
	tok := access.BearerToken(r)
	return tok != "" && s.cfg.RelayAuth(tok)
}

// RelaySessions returns the number of relay sessions (other nodes pulling
// the gig from this one).
func (s *SFU) RelaySessions(gigID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.relays[gigID]
}

// RelaySessionsTotal returns the number of relay sessions over every gig.
func (s *SFU) RelaySessionsTotal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.relays {
		n += c
	}
	return n
}

// aacOffer is the offer's receivable mpeg4-generic m-line: its mid and the
// clock rate/channel pairs it lists.
type aacOffer struct {
	mid    string
	combos []aacCombo
}

type aacCombo struct {
	rate     uint32
	channels uint16
}

// findAACOffer returns the offer's receivable audio m-line offering
// mpeg4-generic, if any.
func findAACOffer(offer string) *aacOffer {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 || !rtc.CanReceive(m) {
			continue
		}
		o := &aacOffer{}
		o.mid, _ = m.Attribute("mid")
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			_, enc, _ := strings.Cut(a.Value, " ")
			parts := strings.Split(enc, "/")
			if len(parts) < 2 || !strings.EqualFold(parts[0], "mpeg4-generic") {
				continue
			}
			rate, err := strconv.ParseUint(parts[1], 10, 32)
			if err != nil {
				continue
			}
			c := aacCombo{rate: uint32(rate), channels: 1}
			if len(parts) > 2 {
				if ch, err := strconv.ParseUint(parts[2], 10, 16); err == nil {
					c.channels = uint16(ch)
				}
			}
			o.combos = append(o.combos, c)
		}
		if len(o.combos) > 0 && o.mid != "" {
			return o
		}
	}
	return nil
}

// relayAACConfig is the stream's AAC config when the relay offer can carry
// it (its rate and channels offered), else nil: the AAC m-line is then not
// answered with AAC.
func relayAACConfig(st *media.Stream, o *aacOffer) *media.AACConfig {
	if o == nil {
		return nil
	}
	t := st.Track(media.CodecAAC)
	if t == nil || t.AAC == nil || t.AAC.SampleRate <= 0 || t.AAC.Channels <= 0 {
		return nil
	}
	for _, c := range o.combos {
		if c.rate == uint32(t.AAC.SampleRate) && c.channels == uint16(t.AAC.Channels) {
			return t.AAC
		}
	}
	return nil
}

// aacCodec is the mpeg4-generic codec describing cfg; with config= unless
// base.
func aacCodec(cfg *media.AACConfig, base bool) webrtc.RTPCodecCapability {
	line := rtc.FmtpAAC(cfg.Raw)
	if base {
		line = rtc.FmtpAACBase
	}
	return webrtc.RTPCodecCapability{MimeType: rtc.MimeAAC, ClockRate: uint32(cfg.SampleRate), Channels: uint16(cfg.Channels), SDPFmtpLine: line}
}

// relayAPI is a relay session's pion API: the viewers' codecs and settings,
// plus the stream's AAC (rate and channels) when it goes to the edge.
func (s *SFU) relayAPI(videoMime string, aac *media.AACConfig) (*webrtc.API, error) {
	newEngine := newMediaEngine
	if videoMime == webrtc.MimeTypeVP8 {
		newEngine = newVP8MediaEngine
	}
	m, err := newEngine()
	if err != nil {
		return nil, err
	}
	if aac != nil {
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: aacCodec(aac, true), PayloadType: ptAACRelay}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register aac: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s.apis.settings),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{})), nil
}

// addAAC adds an AAC track on the offer's mpeg4-generic transceiver (mid),
// its answer listing cfg (config= included). It runs after the offer is
// set. pion's AddTrack takes the first free transceiver of the kind (and
// only AddTrack binds with the PeerConnection's negotiated codecs), so it
// runs before the Opus track's AddTrack when the AAC m-line is the first
// audio one, after it otherwise (before reports whether it is).
func (v *session) addAAC(cfg *media.AACConfig, mid string, before bool) error {
	var tr *webrtc.RTPTransceiver
	first := true
	for _, t := range v.pc.GetTransceivers() {
		if t.Kind() != webrtc.RTPCodecTypeAudio {
			continue
		}
		if t.Mid() == mid {
			tr = t
			break
		}
		first = false
	}
	if tr == nil {
		return fmt.Errorf("%w: no transceiver for the mpeg4-generic m-line", ErrBadOffer)
	}
	if first != before {
		return nil
	}
	full := aacCodec(cfg, false)
	if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{{RTPCodecCapability: full}}); err != nil {
		return fmt.Errorf("aac codec: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(full, "aac", "gig-"+v.gigID)
	if err != nil {
		return err
	}
	sender, err := v.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("add aac track: %w", err)
	}
	if tr.Sender() != sender {
		return fmt.Errorf("%w: the mpeg4-generic m-line must be the first or second audio m-line", ErrBadOffer)
	}
	v.aac = newAACSender(track, cfg, func() { go v.close("aac config changed") }, v.log)
	v.wg.Add(2)
	go func() {
		defer v.wg.Done()
		rtc.ReadRTCP(sender, nil)
	}()
	go func() {
		defer v.wg.Done()
		v.aac.run(v.ctx)
	}()
	return nil
}

// mediaClockOf reports whether st's packets carry its media time: frames
// packetized here (RTMP), or a relay whose upstream said so
// (rtc.HeaderMediaClock). A WHIP publisher's timestamps are its own and are
// forwarded as they are.
func mediaClockOf(st *media.Stream) bool {
	if feed := st.RTP(); feed != nil {
		return feed.MediaClock()
	}
	return true
}

// aacSettle is how old a stream must be before a missing AAC track is
// taken as final: an RTMP publisher sends its audio sequence header just
// after the video one, and a WHIP stream's AAC comes from the transcoder a
// moment after its Opus.
const aacSettle = 2 * time.Second

// awaitAACTrack waits, for a stream younger than aacSettle, until it has an
// AAC track: an edge that pulls at the start of a show would otherwise get
// no AAC for its FLV viewers for the whole pull.
func awaitAACTrack(ctx context.Context, st *media.Stream) {
	settled := st.StartedAt().Add(aacSettle)
	for st.Track(media.CodecAAC) == nil && time.Now().Before(settled) {
		select {
		case <-ctx.Done():
			return
		case <-st.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// serveRelay answers a relay's WHEP offer for st (the POST's checks done).
func (s *SFU) serveRelay(w http.ResponseWriter, r *http.Request, gigID string, st *media.Stream, body, remoteIP string) {
	offer, err := parseOffer(body, videoMime(st))
	if err != nil {
		httperr.Write(w, http.StatusBadRequest, "bad_offer", err.Error())
		return
	}
	offer.relay = true
	if findAACOffer(offer.sdp) != nil {
		awaitAACTrack(r.Context(), st)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rtc.GatherTimeout)
	defer cancel()
	v, answer, err := s.newSession(ctx, gigID, st, offer, remoteIP, "", access.Open())
	if err != nil {
		s.writeSetupError(w, "relay", gigID, err)
		return
	}
	if v.mediaClock {
		w.Header().Set(rtc.HeaderMediaClock, rtc.MediaClockStream)
	}
	s.sig.WriteCreated(w, "/whep/"+gigID+"/"+v.id, v.etag, answer)
	v.log.Info("relay session joined", "remote", remoteIP, "audio", v.audio != nil, "aac", v.aac != nil,
		"setup", time.Since(v.created).Round(time.Microsecond))
}

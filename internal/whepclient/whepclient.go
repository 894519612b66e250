// Package whepclient is a pion WebRTC viewer that plays a WHEP endpoint: the
// one the tests, benchmarks and bench/whepload open against the server. It
// offers recvonly transceivers (and a data channel on request) with every
// ICE candidate gathered, POSTs the offer, applies the answer, and hands each
// RTP packet to a callback with its arrival time; what to record and assert
// stays with the caller.
package whepclient

import (
	"net/http"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Options shape a Viewer. The zero value is a browser-like viewer on UDP
// over IPv4, loopback included, that offers video and audio with pion's
// default codecs and interceptors and reads nothing.
type Options struct {
	// Bearer, when set, is sent as "Authorization: Bearer <Bearer>"
	// (a ticket, a manage token).
	Bearer string
	// Header holds more request headers for the POST.
	Header http.Header
	// Kinds are the recvonly transceivers to offer, in order; nil offers
	// video, then audio.
	Kinds []webrtc.RTPCodecType
	// DataChannel, when set, is the label of a data channel created before
	// the offer (the chat's is "chat"); the Viewer's DC.
	DataChannel string

	// Codecs registers the codecs to offer; nil registers pion's defaults.
	Codecs func(*webrtc.MediaEngine) error
	// Networks are the ICE network types; nil is UDP over IPv4.
	Networks []webrtc.NetworkType
	// Settings, when set, changes the setting engine after the defaults
	// (loopback candidates, Networks).
	Settings func(*webrtc.SettingEngine)
	// API, when set, makes the PeerConnection and Codecs, Networks and
	// Settings are not used: a load tool shares one among many viewers.
	API *webrtc.API

	// OnTrack, when set, is told of each remote track before its packets
	// are read (SSRCs, an RTCP reader of its own).
	OnTrack func(*webrtc.TrackRemote, *webrtc.RTPReceiver)
	// OnPacket, when set, gets every RTP packet of every track with the
	// time it was read, on the track's own goroutine. p and its payload
	// are reused once it returns: copy what it keeps. Without OnPacket no
	// track is read.
	OnPacket func(tr *webrtc.TrackRemote, p *rtp.Packet, at time.Time)

	// Client sends the POST and the DELETE; nil is http.DefaultClient.
	// One that does not follow redirects sees a 307 as a refusal.
	Client *http.Client
}

func (o Options) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	return http.DefaultClient
}

func (o Options) kinds() []webrtc.RTPCodecType {
	if o.Kinds != nil {
		return o.Kinds
	}
	return []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio}
}

// api is Options.API or one built from the options.
func (o Options) api() (*webrtc.API, error) {
	if o.API != nil {
		return o.API, nil
	}
	m := &webrtc.MediaEngine{}
	register := o.Codecs
	if register == nil {
		register = (*webrtc.MediaEngine).RegisterDefaultCodecs
	}
	if err := register(m); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	nets := o.Networks
	if nets == nil {
		nets = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(nets)
	if o.Settings != nil {
		o.Settings(&se)
	}
	// Without a registry NewAPI installs pion's default interceptors
	// (NACK, RTCP reports, TWCC), as a browser would have them.
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// Package wheptest is the recording WHEP viewer the sfu and WHIP ingest
// tests share: an in-process pion client (internal/whepclient) that records
// the RTP packets, sender reports and SSRCs it receives, and the small HTTP
// and RTP helpers those tests check them with. Import it from _test.go
// files only.
package wheptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// ErrNoAU says the packets hold no complete access unit.
var ErrNoAU = errors.New("no complete access unit")

// Record is one received RTP packet.
type Record struct {
	At      time.Time
	Seq     uint16
	TS      uint32
	Marker  bool
	Payload []byte
}

// Viewer is an in-process pion WHEP client that records what it receives.
type Viewer struct {
	PC       *webrtc.PeerConnection
	Location string
	Started  time.Time

	Mu     sync.Mutex
	Video  []Record
	Audio  []Record
	SRs    map[uint32][]*rtcp.SenderReport
	SSRCs  map[string]uint32
	Closed chan struct{}
}

// Opts are a viewer's options.
type Opts struct {
	TCPOnly bool
	NoAudio bool
	Chat    bool
	// Codecs registers the codecs to offer; nil: pion's defaults.
	Codecs func(*webrtc.MediaEngine) error
}

// Client is o as the shared WHEP client's options.
func (o Opts) Client() whepclient.Options {
	c := whepclient.Options{
		Codecs: o.Codecs,
		// Lets the NACK test see a retransmission of a packet it already
		// has (a real loss cannot be forced in-process).
		Settings: func(se *webrtc.SettingEngine) { se.DisableSRTPReplayProtection(true) },
	}
	if o.TCPOnly {
		c.Networks = []webrtc.NetworkType{webrtc.NetworkTypeTCP4}
	}
	if o.NoAudio {
		c.Kinds = []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	}
	if o.Chat {
		c.DataChannel = "chat"
	}
	return c
}

// NewClient makes a viewer's PeerConnection and its recvonly offer with
// full ICE gathering (Offer); nothing is sent. The PeerConnection is closed
// when the test ends.
func NewClient(t testing.TB, o Opts) *whepclient.Viewer {
	t.Helper()
	return NewClientWith(t, o.Client())
}

// NewClientWith is NewClient with the WHEP client's options.
func NewClientWith(t testing.TB, opts whepclient.Options) *whepclient.Viewer {
	t.Helper()
	c, err := whepclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.PC.Close() })
	return c
}

// PostOffer posts the SDP offer sdp to url.
func PostOffer(t *testing.T, url, sdp string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/sdp", strings.NewReader(sdp))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Watch posts a viewer's offer to url with the extra request headers hdr
// (Authorization); on a 201 the viewer plays and records what it receives,
// otherwise the status and body say why.
func Watch(t *testing.T, o Opts, url string, hdr map[string]string) (*Viewer, int, string) {
	t.Helper()
	v := &Viewer{SRs: map[uint32][]*rtcp.SenderReport{}, SSRCs: map[string]uint32{}, Closed: make(chan struct{})}
	opts := o.Client()
	opts.Header = http.Header{}
	for k, val := range hdr {
		opts.Header.Set(k, val)
	}
	opts.OnTrack = func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		kind := tr.Kind().String()
		v.Mu.Lock()
		v.SSRCs[kind] = uint32(tr.SSRC())
		v.Mu.Unlock()
		go func() {
			for {
				pkts, _, err := rx.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok {
						v.Mu.Lock()
						v.SRs[sr.SSRC] = append(v.SRs[sr.SSRC], sr)
						v.Mu.Unlock()
					}
				}
			}
		}()
	}
	opts.OnPacket = func(tr *webrtc.TrackRemote, p *rtp.Packet, at time.Time) {
		rec := Record{At: at, Seq: p.SequenceNumber, TS: p.Timestamp, Marker: p.Marker, Payload: append([]byte(nil), p.Payload...)}
		v.Mu.Lock()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			v.Video = append(v.Video, rec)
		} else {
			v.Audio = append(v.Audio, rec)
		}
		v.Mu.Unlock()
	}
	c := NewClientWith(t, opts)
	v.PC = c.PC
	v.Started = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := c.Post(ctx, url)
	if ref, ok := whepclient.Refusal(err); ok {
		return v, ref.Status, ref.Body
	}
	if err != nil {
		t.Fatal(err)
	}
	v.Location = c.Location
	if err := c.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	return v, http.StatusCreated, answer
}

// Snapshot copies the video and audio packets received so far.
func (v *Viewer) Snapshot() (video, audio []Record) {
	v.Mu.Lock()
	defer v.Mu.Unlock()
	return append([]Record(nil), v.Video...), append([]Record(nil), v.Audio...)
}

// WaitFor polls cond until it holds or d passes.
func WaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DoRequest sends a request with body of type ctype (none if empty) and the
// headers hdr, and returns the response with its body read.
func DoRequest(t *testing.T, method, url, ctype, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Describe summarises recs for a failure message.
func Describe(recs []Record) string {
	if len(recs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d packets over %v", len(recs), recs[len(recs)-1].At.Sub(recs[0].At).Round(time.Millisecond))
}

// FirstAccessUnit depacketizes video packets up to the first marker and
// returns the NAL unit types in order.
func FirstAccessUnit(t *testing.T, recs []Record) []byte {
	t.Helper()
	var h codecs.H264Packet
	var au []byte
	for _, r := range recs {
		out, err := h.Unmarshal(r.Payload)
		if err != nil {
			t.Fatalf("depacketize seq %d: %v", r.Seq, err)
		}
		au = append(au, out...)
		if r.Marker {
			return NALTypes(au)
		}
	}
	t.Fatal(ErrNoAU)
	return nil
}

// NALTypes is the NAL unit types of the Annex B stream annexb, in order.
func NALTypes(annexb []byte) []byte {
	var types []byte
	for _, n := range bytes.Split(annexb, []byte{0, 0, 1}) {
		n = bytes.TrimRight(n, "\x00")
		if len(n) > 0 {
			types = append(types, n[0]&0x1f)
		}
	}
	return types
}

// CheckSeqContinuous fails the test unless recs' sequence numbers follow
// one another.
func CheckSeqContinuous(t *testing.T, what string, recs []Record) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		if d := recs[i].Seq - recs[i-1].Seq; d != 1 {
			t.Errorf("%s: sequence jumps from %d to %d at packet %d", what, recs[i-1].Seq, recs[i].Seq, i)
			return
		}
	}
}

// ICEUfragOf is the first ICE ufrag in sdp, or "".
func ICEUfragOf(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// APIError is the JSON error shape of every refusal.
type APIError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

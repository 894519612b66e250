package whepclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeServer answers WHEP offers with an H.264 track it feeds until the
// test ends; it wants the Bearer "ok".
type fakeServer struct {
	t       *testing.T
	mu      sync.Mutex
	pcs     []*webrtc.PeerConnection
	deletes atomic.Int32
	srv     *httptest.Server
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/g", f.offer)
	mux.HandleFunc("POST /whep/moved", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "http://other.example/whep/g")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("DELETE /whep/g/s1", func(w http.ResponseWriter, _ *http.Request) {
		f.deletes.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, pc := range f.pcs {
			_ = pc.Close()
		}
	})
	return f
}

func (f *fakeServer) offer(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer ok" || r.Header.Get("Content-Type") != "application/sdp" || r.Header.Get("X-Test") != "1" {
		http.Error(w, `{"error":{"code":"forbidden"}}`, http.StatusForbidden)
		return
	}
	offer, _ := io.ReadAll(r.Body)
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.t.Error(err)
		return
	}
	f.mu.Lock()
	f.pcs = append(f.pcs, pc)
	f.mu.Unlock()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "fake")
	if err != nil {
		f.t.Error(err)
		return
	}
	if _, err := pc.AddTrack(track); err != nil {
		f.t.Error(err)
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		f.t.Error(err)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		f.t.Error(err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		f.t.Error(err)
		return
	}
	<-gathered
	go func() {
		for seq := uint16(0); ; seq++ {
			time.Sleep(10 * time.Millisecond)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: []byte{0x65, byte(seq)}}
			if err := track.WriteRTP(p); err != nil || pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
		}
	}()
	w.Header().Set("Location", "/whep/g/s1")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func TestDialPlaysAndCloseDeletes(t *testing.T) {
	f := newFakeServer(t)
	var video atomic.Int32
	var last atomic.Uint32
	var tracks atomic.Int32
	v, err := Dial(context.Background(), f.srv.URL+"/whep/g", Options{
		Bearer:  "ok",
		Header:  http.Header{"X-Test": {"1"}},
		OnTrack: func(*webrtc.TrackRemote, *webrtc.RTPReceiver) { tracks.Add(1) },
		OnPacket: func(tr *webrtc.TrackRemote, p *rtp.Packet, at time.Time) {
			if tr.Kind() == webrtc.RTPCodecTypeVideo && len(p.Payload) == 2 && !at.IsZero() {
				video.Add(1)
				last.Store(uint32(p.SequenceNumber))
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.Location != "/whep/g/s1" || v.SessionURL() != f.srv.URL+"/whep/g/s1" {
		t.Fatalf("Location %q, session %q", v.Location, v.SessionURL())
	}
	deadline := time.Now().Add(10 * time.Second)
	for video.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d video packets in 10 s", video.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tracks.Load() != 1 {
		t.Fatalf("OnTrack told of %d tracks, want 1", tracks.Load())
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil || f.deletes.Load() != 1 {
		t.Fatalf("second Close: %v; %d DELETEs, want 1", err, f.deletes.Load())
	}
	if v.PC.ConnectionState() != webrtc.PeerConnectionStateClosed {
		t.Fatalf("PeerConnection %s after Close", v.PC.ConnectionState())
	}
}

func TestRefusals(t *testing.T) {
	f := newFakeServer(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, path string
		opts       Options
		status     int
		body, loc  string
	}{
		{"no bearer", "/whep/g", Options{Header: http.Header{"X-Test": {"1"}}}, http.StatusForbidden, `"forbidden"`, ""},
		{"redirect not followed", "/whep/moved", Options{Client: noRedirect}, http.StatusTemporaryRedirect, "", "http://other.example/whep/g"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Dial(context.Background(), f.srv.URL+tt.path, tt.opts)
			r, ok := Refusal(err)
			if v != nil || !ok || !errors.Is(err, ErrRefused) {
				t.Fatalf("Dial = %v, %v; want a refusal", v, err)
			}
			if r.Status != tt.status || !strings.Contains(r.Body, tt.body) || r.Location != tt.loc {
				t.Fatalf("refusal %+v, want %d with %q and Location %q", r, tt.status, tt.body, tt.loc)
			}
		})
	}
}

func TestOfferShape(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		want, not   []string
		dataChannel bool
	}{
		{"default", Options{}, []string{"m=video", "m=audio", "H264", "a=recvonly", "typ host"}, []string{"m=application"}, false},
		{"audio only with chat", Options{Kinds: []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}, DataChannel: "chat"}, []string{"m=audio", "m=application"}, []string{"m=video"}, true},
		{"vp8 only", Options{Codecs: func(m *webrtc.MediaEngine) error {
			return m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo)
		}, Kinds: []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}}, []string{"VP8"}, []string{"H264"}, false},
		{"tcp", Options{Networks: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}}, []string{"tcp"}, []string{" udp "}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			for _, s := range tt.want {
				if !strings.Contains(v.Offer, s) {
					t.Errorf("offer without %q:\n%s", s, v.Offer)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(v.Offer, s) {
					t.Errorf("offer with %q:\n%s", s, v.Offer)
				}
			}
			if (v.DC != nil) != tt.dataChannel || (v.DC != nil && v.DC.Label() != "chat") {
				t.Fatalf("data channel %v", v.DC)
			}
		})
	}
}

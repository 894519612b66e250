package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// whepViewer is a pion WebRTC viewer with a chat data channel, as a
// browser watch page would open it.
type whepViewer struct {
	pc           *webrtc.PeerConnection
	dc           *webrtc.DataChannel
	video, audio atomic.Int64
	lost         atomic.Uint64 // video sequence numbers that never arrived
	maxGap       atomic.Int64  // longest wait between video packets, ns (reset by tests)
	videoCodec   atomic.Value
	audioCodec   atomic.Value
	chatFrames   chan map[string]any
	open         chan struct{}
}

func (n *node) watchWHEP(t *testing.T, gigID string) *whepViewer {
	t.Helper()
	v, code, body := n.offerWHEP(t, gigID, "")
	if code != http.StatusCreated {
		t.Fatalf("WHEP POST: %d %s", code, body)
	}
	return v
}

// offerWHEP opens a viewer with an optional Bearer credential (ticket or
// manage token) and returns the answer's status and, on refusal, its body.
func (n *node) offerWHEP(t *testing.T, gigID, bearer string) (*whepViewer, int, string) {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).
		NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	v := &whepViewer{pc: pc, chatFrames: make(chan map[string]any, 256), open: make(chan struct{})}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		counter, codec := &v.video, &v.videoCodec
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			counter, codec = &v.audio, &v.audioCodec
		}
		codec.Store(tr.Codec().MimeType)
		var last uint16
		var lastAt int64
		for i := 0; ; i++ {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			counter.Add(1)
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				now := time.Now().UnixNano()
				if i > 0 {
					if d := now - lastAt; d > v.maxGap.Load() {
						v.maxGap.Store(d) // one reader goroutine per track: no race
					}
				}
				lastAt = now
				if gap := p.SequenceNumber - last; i > 0 && gap > 1 && gap < 1<<15 {
					v.lost.Add(uint64(gap - 1))
				}
				last = p.SequenceNumber
			}
		}
	})
	if v.dc, err = pc.CreateDataChannel("chat", nil); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	v.dc.OnOpen(func() { once.Do(func() { close(v.open) }) })
	v.dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var f map[string]any
		if json.Unmarshal(msg.Data, &f) == nil {
			v.chatFrames <- f
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	req, err := http.NewRequest(http.MethodPost, n.HTTP+"/whep/"+gigID, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, resp.StatusCode, string(answer)
	}
	if resp.Header.Get("Location") == "" {
		t.Fatalf("WHEP POST: 201 without Location")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return v, resp.StatusCode, ""
}

func (v *whepViewer) send(t *testing.T, f map[string]any) {
	t.Helper()
	b, _ := json.Marshal(f)
	if err := v.dc.SendText(string(b)); err != nil {
		t.Fatalf("data channel send: %v", err)
	}
}

func (v *whepViewer) next(t *testing.T, typ string, d time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-v.chatFrames:
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			t.Fatalf("no %q frame on the data channel within %s", typ, d)
		}
	}
}

// TestWHEPViewerWithDataChannelChat: a WebRTC viewer of an RTMP show gets
// H.264 and Opus (made from the creator's AAC), and chats over its session's
// data channel with a WebSocket chatter; it is counted once.
func TestWHEPViewerWithDataChannelChat(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	n := startNode(t)
	g := n.createGig(t, "WebRTC show")
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	v := n.watchWHEP(t, g.ID)
	waitFor(t, 15*time.Second, "video and audio RTP", func() bool { return v.video.Load() > 60 && v.audio.Load() > 25 })
	if vc, ac := v.videoCodec.Load(), v.audioCodec.Load(); vc != webrtc.MimeTypeH264 || ac != webrtc.MimeTypeOpus {
		t.Fatalf("codecs %v %v, want H264 and Opus", vc, ac)
	}

	select {
	case <-v.open:
	case <-time.After(10 * time.Second):
		t.Fatal("chat data channel did not open")
	}
	v.send(t, map[string]any{"type": "join", "name": "Dana", "watching": true})
	v.next(t, "joined", 5*time.Second)
	ws := n.chat(t, g.ID)
	ws.join("Eli", nil)

	v.send(t, map[string]any{"type": "message", "text": "hello from WebRTC"})
	if m := ws.next("message", 5*time.Second); m["text"] != "hello from WebRTC" || m["name"] != "Dana" {
		t.Fatalf("WebSocket got %v", m)
	}
	ws.send(map[string]any{"type": "message", "text": "hi Dana"})
	for {
		m := v.next(t, "message", 5*time.Second)
		if m["text"] == "hi Dana" {
			break
		}
	}

	// One WebRTC viewer (its data channel adds nothing) and one chat-only
	// viewer: the API says 2.
	waitFor(t, 10*time.Second, "2 viewers", func() bool { return n.gig(t, g.ID).Viewers == 2 })
	var health streamHealth
	n.do(t, http.MethodGet, "/api/gigs/"+g.ID+"/stream", "", nil, &health)
	if health.Viewers["webrtc"] != 1 || health.Viewers["chat"] != 1 {
		t.Fatalf("viewers per protocol = %v", health.Viewers)
	}
	_ = v.pc.Close()
	waitFor(t, 15*time.Second, "1 viewer after the WebRTC viewer left", func() bool { return n.gig(t, g.ID).Viewers == 1 })
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/pion/rtp"
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
	v := &whepViewer{chatFrames: make(chan map[string]any, 256), open: make(chan struct{})}
	// Per track, read on that track's goroutine only.
	type trackState struct {
		n      int
		last   uint16
		lastAt int64
	}
	var video, audio trackState
	c, err := whepclient.New(whepclient.Options{Bearer: bearer, DataChannel: "chat",
		OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			codec := &v.videoCodec
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				codec = &v.audioCodec
			}
			codec.Store(tr.Codec().MimeType)
		},
		OnPacket: func(tr *webrtc.TrackRemote, p *rtp.Packet, at time.Time) {
			st, counter := &video, &v.video
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				st, counter = &audio, &v.audio
			}
			counter.Add(1)
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				now := at.UnixNano()
				if st.n > 0 {
					if d := now - st.lastAt; d > v.maxGap.Load() {
						v.maxGap.Store(d) // one reader goroutine per track: no race
					}
				}
				st.lastAt = now
				if gap := p.SequenceNumber - st.last; st.n > 0 && gap > 1 && gap < 1<<15 {
					v.lost.Add(uint64(gap - 1))
				}
				st.last = p.SequenceNumber
			}
			st.n++
		}})
	if err != nil {
		t.Fatal(err)
	}
	v.pc, v.dc = c.PC, c.DC
	t.Cleanup(func() { _ = c.PC.Close() })
	var once sync.Once
	v.dc.OnOpen(func() { once.Do(func() { close(v.open) }) })
	v.dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var f map[string]any
		if json.Unmarshal(msg.Data, &f) == nil {
			v.chatFrames <- f
		}
	})
	answer, err := c.Post(context.Background(), n.HTTP+"/whep/"+gigID)
	if r, ok := whepclient.Refusal(err); ok {
		return nil, r.Status, r.Body
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.Location == "" {
		t.Fatalf("WHEP POST: 201 without Location")
	}
	if err := c.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	return v, http.StatusCreated, ""
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

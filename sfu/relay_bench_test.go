package sfu_test

import (
	"context"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/webrtc/v4"
)

// frameClock records when a WHEP viewer received the last packet of each
// video frame, keyed by that packet's payload (the same bytes at the
// origin's viewers and, forwarded unchanged, at the edge's).
type frameClock struct {
	mu   sync.Mutex
	at   map[uint64]time.Time
	wake chan struct{}
}

func payloadKey(p []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(p)
	return h.Sum64()
}

// watchFrames connects a pion WHEP viewer to url and records frame arrivals.
func watchFrames(tb testing.TB, url, token string) *frameClock {
	tb.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pc.Close() })
	fc := &frameClock{at: map[uint64]time.Time{}, wake: make(chan struct{}, 1)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() != webrtc.RTPCodecTypeVideo || !p.Marker {
				continue
			}
			now := time.Now()
			k := payloadKey(p.Payload)
			fc.mu.Lock()
			if _, ok := fc.at[k]; !ok {
				fc.at[k] = now
			}
			fc.mu.Unlock()
			select {
			case fc.wake <- struct{}{}:
			default:
			}
		}
	})
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
		tb.Fatal(err)
	}
	of, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(of); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST %s = %d %s", url, resp.StatusCode, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		tb.Fatal(err)
	}
	return fc
}

// BenchmarkRelayHop measures the latency one relay hop adds: for each video
// frame, when the edge's viewer got it minus when the origin's viewer did
// (both on loopback, fed by the same origin stream). One op is one frame.
func BenchmarkRelayHop(b *testing.B) {
	origin := newRelayNode(b, sfu.Config{})
	feedOrigin(b, origin, "gig1")
	edge := newRelayNode(b, sfu.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := edge.whip.Pull(ctx, whip.PullConfig{GigID: "gig1", URL: origin.whepURL("gig1"), Token: relayToken})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	for {
		if st, ok := edge.reg.Get("gig1"); ok && !st.Closed() {
			break
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			b.Fatal("relay not live")
		}
	}
	ov := watchFrames(b, origin.whepURL("gig1"), "")
	ev := watchFrames(b, edge.whepURL("gig1"), "")
	// Let both start (GOP catch-up bursts are not live latency).
	time.Sleep(1500 * time.Millisecond)
	ov.mu.Lock()
	clear(ov.at)
	ov.mu.Unlock()
	ev.mu.Lock()
	clear(ev.at)
	ev.mu.Unlock()
	b.ResetTimer()
	var hops []float64
	deadline := time.Now().Add(time.Duration(b.N)*time.Second/10 + 20*time.Second)
	for len(hops) < b.N && time.Now().Before(deadline) {
		select {
		case <-ev.wake:
		case <-time.After(time.Second):
		}
		ev.mu.Lock()
		ov.mu.Lock()
		for k, te := range ev.at {
			if to, ok := ov.at[k]; ok {
				hops = append(hops, float64(te.Sub(to).Microseconds())/1000)
				delete(ev.at, k)
				delete(ov.at, k)
			}
		}
		ov.mu.Unlock()
		ev.mu.Unlock()
	}
	b.StopTimer()
	if len(hops) == 0 {
		b.Fatal("no frame reached both viewers")
	}
	slices.Sort(hops)
	b.ReportMetric(hops[len(hops)/2], "hop-p50-ms")
	b.ReportMetric(hops[min(len(hops)-1, len(hops)*99/100)], "hop-p99-ms")
}

package sfu_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/bookmygig/bookmygig/transcode"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// clockRate estimates an RTP clock from packets received after the GOP
// burst: timestamp progress over wall time.
func clockRate(recs []rtpRecord, skip time.Duration) float64 {
	var first *rtpRecord
	for i := range recs {
		if recs[i].At.Sub(recs[0].At) >= skip {
			first = &recs[i]
			break
		}
	}
	last := recs[len(recs)-1]
	if first == nil || last.At.Sub(first.At) <= 0 {
		return 0
	}
	return float64(last.TS-first.TS) / last.At.Sub(first.At).Seconds()
}

func TestWHEPPionViewerOverRTMP(t *testing.T) {
	r := newRig(t, sfu.Config{})
	// A 4 s GOP and a viewer arriving mid-GOP: the picture must still start
	// at once, from the cached keyframe.
	_, st := r.publish(t, ingesttest.Options{GOP: 120})
	time.Sleep(1500 * time.Millisecond)
	v := r.watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "video and audio", func() bool {
		video, audio := v.Snapshot()
		return len(video) > 0 && len(audio) > 0
	})
	firstVideo, _ := v.Snapshot()
	t.Logf("first video packet %v after the offer", firstVideo[0].At.Sub(v.Started).Round(time.Millisecond))
	if n := st.Stats().Viewers["webrtc"]; n != 1 {
		t.Errorf("stream counts %d webrtc viewers, want 1", n)
	}
	time.Sleep(3 * time.Second)
	video, audio := v.Snapshot()
	t.Logf("video %s, audio %s", wheptest.Describe(video), wheptest.Describe(audio))

	types := wheptest.FirstAccessUnit(t, video)
	if len(types) < 3 || types[0] != 7 || types[1] != 8 || types[len(types)-1] != 5 {
		t.Fatalf("first access unit has NAL types %v, want SPS(7) PPS(8) ... IDR(5)", types)
	}
	// The burst (cached GOP, 1.5 s of frames) must arrive at once.
	if span := video[0].TS; video[len(video)-1].TS-span < 90000 {
		t.Errorf("video timestamps span %d ticks, want more than 1 s", video[len(video)-1].TS-span)
	}
	wheptest.CheckSeqContinuous(t, "video", video)
	wheptest.CheckSeqContinuous(t, "audio", audio)
	if rate := clockRate(video, time.Second); math.Abs(rate-90000) > 90000*0.08 {
		t.Errorf("video clock %.0f Hz against wall time, want 90000", rate)
	}
	if rate := clockRate(audio, time.Second); math.Abs(rate-48000) > 48000*0.08 {
		t.Errorf("audio clock %.0f Hz against wall time, want 48000", rate)
	}
	// Opus: one 20 ms frame per packet, 960 ticks apart, decodable, a tone.
	dec, err := transcode.NewOpusDecoder(48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var sum float64
	var n int
	for i, a := range audio {
		if i > 0 && a.TS-audio[i-1].TS != 960 {
			t.Fatalf("opus packet %d advances %d ticks, want 960", i, a.TS-audio[i-1].TS)
		}
		if cfg := a.Payload[0] >> 3; cfg < 16 && cfg%4 != 1 || cfg >= 16 && cfg%4 != 3 {
			t.Fatalf("opus TOC config %d is not a 20 ms frame", cfg)
		}
		pcm, err := dec.Decode(a.Payload)
		if err != nil {
			t.Fatalf("opus packet %d: %v", i, err)
		}
		for _, s := range pcm {
			sum += float64(s) * float64(s)
			n++
		}
	}
	if rms := math.Sqrt(sum / float64(n)); rms < 1000 {
		t.Fatalf("received opus decodes to rms %.0f: silence, want the 440 Hz tone", rms)
	}

	// Sender reports for both tracks map RTP time to one wall clock.
	v.Mu.Lock()
	srV, srA := v.SRs[v.SSRCs["video"]], v.SRs[v.SSRCs["audio"]]
	v.Mu.Unlock()
	if len(srV) == 0 || len(srA) == 0 {
		t.Fatalf("sender reports: %d video, %d audio; want both", len(srV), len(srA))
	}

	// DELETE ends the session; a second DELETE is a quiet 404.
	resp, _ := wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+v.Location, "", "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %d, want 204", resp.StatusCode)
	}
	resp, _ = wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+v.Location, "", "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE = %d, want 404", resp.StatusCode)
	}
	wheptest.WaitFor(t, 3*time.Second, "viewer count back to 0", func() bool { return st.Stats().Viewers["webrtc"] == 0 })
	if r.sfu.Viewers() != 0 {
		t.Fatalf("sfu still counts %d sessions", r.sfu.Viewers())
	}
}

func TestWHEPRetransmitsNACKedPackets(t *testing.T) {
	r := newRig(t, sfu.Config{})
	r.publish(t, ingesttest.Options{})
	v := r.watch(t, viewerOpts{NoAudio: true})
	wheptest.WaitFor(t, 10*time.Second, "100 video packets", func() bool {
		video, _ := v.Snapshot()
		return len(video) >= 100
	})
	video, _ := v.Snapshot()
	want := video[len(video)-20]
	v.Mu.Lock()
	ssrc := v.SSRCs["video"]
	v.Mu.Unlock()
	if err := v.PC.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: want.Seq}},
	}}); err != nil {
		t.Fatal(err)
	}
	wheptest.WaitFor(t, 3*time.Second, "the retransmission", func() bool {
		video, _ := v.Snapshot()
		n := 0
		for _, p := range video {
			if p.Seq == want.Seq && bytes.Equal(p.Payload, want.Payload) {
				n++
			}
		}
		return n >= 2
	})
}

func TestWHEPOverICETCP(t *testing.T) {
	r := newRig(t, sfu.Config{})
	r.publish(t, ingesttest.Options{})
	v := r.watch(t, viewerOpts{TCPOnly: true})
	wheptest.WaitFor(t, 10*time.Second, "video over ICE-TCP", func() bool {
		video, audio := v.Snapshot()
		return len(video) > 50 && len(audio) > 10
	})
	pair, err := v.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err == nil && pair != nil && pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair %v is not TCP", pair)
	}
}

func TestWHEPDataChannelHook(t *testing.T) {
	got := make(chan string, 1)
	r := newRig(t, sfu.Config{OnDataChannel: func(gig, ip string, dc *webrtc.DataChannel) {
		dc.OnOpen(func() { got <- gig + " " + ip + " " + dc.Label() })
	}})
	r.publish(t, ingesttest.Options{})
	r.watch(t, viewerOpts{Chat: true})
	select {
	case s := <-got:
		if s != "gig1 127.0.0.1 chat" {
			t.Fatalf("hook got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chat data channel never reached the hook")
	}
}

func TestWHEPSessionsEndWithStream(t *testing.T) {
	r := newRig(t, sfu.Config{})
	p, _ := r.publish(t, ingesttest.Options{})
	v := r.watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "video", func() bool { video, _ := v.Snapshot(); return len(video) > 0 })
	p.Stop()
	wheptest.WaitFor(t, 10*time.Second, "session closed", func() bool { return r.sfu.Viewers() == 0 })
	wheptest.WaitFor(t, 10*time.Second, "viewer sees the close", func() bool {
		s := v.PC.ConnectionState()
		return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected
	})
}

func TestWHEPErrors(t *testing.T) {
	r := newRig(t, sfu.Config{
		MaxViewers:  1,
		CORSOrigins: []string{"https://player.example"},
		ICEServers: []sfu.ICEServer{
			{URLs: []string{"stun:stun.example.net:3478"}},
			{URLs: []string{"turn:turn.example.net:3478?transport=udp"}, Username: "u", Credential: "p"},
		},
	})
	r.publish(t, ingesttest.Options{})
	// A second show on the same node: the cap is per gig.
	ingesttest.Publish(t, r.ing.URL("key2"), ingesttest.Options{})
	ingesttest.WaitLive(t, r.reg, "gig2", 15*time.Second)
	good := wheptest.NewClient(t, viewerOpts{}).Offer
	sendOnly := strings.ReplaceAll(good, "a=recvonly", "a=sendonly")
	vp8Only := wheptest.NewClient(t, viewerOpts{Codecs: registerVP8Only}).Offer
	audioOnly := wheptest.NewClientWith(t, whepclient.Options{Kinds: []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}}).Offer

	tests := []struct {
		name      string
		method    string
		path      string
		ctype     string
		body      string
		status    int
		code      string
		msgSubstr string
	}{
		{"wrong content type", "POST", "/whep/gig1", "application/json", good, 415, "unsupported_media_type", "application/sdp"},
		{"unknown gig", "POST", "/whep/nope", "application/sdp", good, 404, "gig_not_live", ""},
		{"garbage", "POST", "/whep/gig1", "application/sdp", "hello", 400, "bad_offer", "not an SDP offer"},
		{"empty", "POST", "/whep/gig1", "application/sdp", "", 400, "bad_offer", "empty"},
		{"sendonly video", "POST", "/whep/gig1", "application/sdp", sendOnly, 400, "bad_offer", "no video m-line"},
		{"audio only", "POST", "/whep/gig1", "application/sdp", audioOnly, 400, "bad_offer", "no video m-line"},
		{"vp8 only", "POST", "/whep/gig1", "application/sdp", vp8Only, 400, "bad_offer", "H.264"},
		{"too large", "POST", "/whep/gig1", "application/sdp", good + strings.Repeat("a=x\r\n", 20000), 413, "sdp_too_large", ""},
		{"delete unknown", "DELETE", "/whep/gig1/0123", "", "", 404, "session_not_found", ""},
		{"patch unknown", "PATCH", "/whep/gig1/0123", "application/trickle-ice-sdpfrag", "", 404, "session_not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := wheptest.DoRequest(t, tt.method, r.srv.URL+tt.path, tt.ctype, tt.body, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, body, tt.status)
			}
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body %q is not JSON: %v", body, err)
			}
			if e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.msgSubstr) {
				t.Fatalf("error = %+v, want code %s mentioning %q", e.Error, tt.code, tt.msgSubstr)
			}
		})
	}

	t.Run("created, link, etag, cors, cap, patch", func(t *testing.T) {
		resp, answer := wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/gig1", "application/sdp", good, map[string]string{"Origin": "https://player.example"})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST = %d %s", resp.StatusCode, answer)
		}
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/whep/gig1/") || !strings.HasPrefix(answer, "v=0") {
			t.Fatalf("Location %q, answer %.20q", loc, answer)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
			t.Errorf("Content-Type %q", ct)
		}
		links := resp.Header.Values("Link")
		wantLinks := []string{
			`<stun:stun.example.net:3478>; rel="ice-server"`,
			`<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`,
		}
		if strings.Join(links, "\n") != strings.Join(wantLinks, "\n") {
			t.Errorf("Link headers %q, want %q", links, wantLinks)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Location") {
			t.Errorf("CORS headers missing: %v", resp.Header)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" {
			t.Errorf("ETag %q, Accept-Patch %q", etag, resp.Header.Get("Accept-Patch"))
		}
		if !strings.Contains(answer, "profile-level-id=42e01f") || !strings.Contains(answer, "opus/48000/2") {
			t.Errorf("answer lacks H.264 42e01f or Opus:\n%s", answer)
		}

		// The cap is 1 per gig: gig1's next viewer gets 503, while gig2,
		// on the same node, still takes its first viewer.
		resp2, body := wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/gig1", "application/sdp", good, nil)
		var capErr apiError
		_ = json.Unmarshal([]byte(body), &capErr)
		if resp2.StatusCode != http.StatusServiceUnavailable || capErr.Error.Code != "viewer_cap" ||
			!strings.Contains(capErr.Error.Message, "FLV") || resp2.Header.Get("Retry-After") == "" {
			t.Fatalf("POST over gig1's cap = %d %s (Retry-After %q), want 503 viewer_cap pointing to FLV",
				resp2.StatusCode, body, resp2.Header.Get("Retry-After"))
		}
		resp2, body = wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/gig2", "application/sdp", good, nil)
		if resp2.StatusCode != http.StatusCreated || !strings.HasPrefix(resp2.Header.Get("Location"), "/whep/gig2/") {
			t.Fatalf("POST for gig2 while gig1 is at its cap = %d %s, want 201", resp2.StatusCode, body)
		}
		gig2Loc := resp2.Header.Get("Location")
		if n := r.sfu.Viewers(); n != 2 {
			t.Fatalf("node counts %d WebRTC sessions, want 2 (one per gig)", n)
		}
		resp2, body = wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/gig2", "application/sdp", good, nil)
		if resp2.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "viewer_cap") {
			t.Fatalf("POST over gig2's cap = %d %s, want 503 viewer_cap", resp2.StatusCode, body)
		}
		if resp2, _ := wheptest.DoRequest(t, "DELETE", r.srv.URL+gig2Loc, "", "", nil); resp2.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE gig2's viewer = %d", resp2.StatusCode)
		}

		// Trickle: a candidate is accepted, a wrong ETag refused, a new
		// ufrag (ICE restart) refused clearly.
		frag := "a=ice-ufrag:" + wheptest.ICEUfragOf(good) + "\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
		resp3, body := wheptest.DoRequest(t, "PATCH", r.srv.URL+loc, "application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": etag})
		if resp3.StatusCode != http.StatusNoContent {
			t.Fatalf("PATCH = %d %s, want 204", resp3.StatusCode, body)
		}
		resp3, _ = wheptest.DoRequest(t, "PATCH", r.srv.URL+loc, "application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": `"nope"`})
		if resp3.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("PATCH with a wrong If-Match = %d, want 412", resp3.StatusCode)
		}
		resp3, body = wheptest.DoRequest(t, "PATCH", r.srv.URL+loc, "application/trickle-ice-sdpfrag", "a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n", nil)
		if resp3.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "ice_restart_unsupported") {
			t.Fatalf("ICE restart PATCH = %d %s, want 422", resp3.StatusCode, body)
		}
		resp3, _ = wheptest.DoRequest(t, "PATCH", r.srv.URL+loc, "application/sdp", frag, nil)
		if resp3.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("PATCH with application/sdp = %d, want 415", resp3.StatusCode)
		}

		resp4, _ := wheptest.DoRequest(t, "DELETE", r.srv.URL+loc, "", "", nil)
		if resp4.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE = %d", resp4.StatusCode)
		}
		resp4, _ = wheptest.DoRequest(t, "DELETE", r.srv.URL+loc, "", "", nil)
		if resp4.StatusCode != http.StatusNotFound {
			t.Fatalf("second DELETE = %d, want 404", resp4.StatusCode)
		}
		// The slot is free again.
		resp4, body = wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/gig1", "application/sdp", good, nil)
		if resp4.StatusCode != http.StatusCreated {
			t.Fatalf("POST after the viewer left = %d %s, want 201", resp4.StatusCode, body)
		}
		if resp4, _ := wheptest.DoRequest(t, "DELETE", r.srv.URL+resp4.Header.Get("Location"), "", "", nil); resp4.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE = %d", resp4.StatusCode)
		}
	})

	t.Run("cap holds under concurrent posts", func(t *testing.T) {
		wheptest.WaitFor(t, 5*time.Second, "no sessions left", func() bool { return r.sfu.Viewers() == 0 })
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		var locs []string
		for i := 0; i < 8; i++ {
			gig := []string{"gig1", "gig2"}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/"+gig, "application/sdp", good, nil)
				mu.Lock()
				defer mu.Unlock()
				codes[resp.StatusCode]++
				if resp.StatusCode == http.StatusCreated {
					locs = append(locs, resp.Header.Get("Location"))
				}
			}()
		}
		wg.Wait()
		if codes[http.StatusCreated] != 2 || codes[http.StatusServiceUnavailable] != 6 {
			t.Fatalf("8 concurrent POSTs over 2 gigs with a cap of 1 got %v, want 2x 201 (one per gig) and 6x 503", codes)
		}
		for _, l := range locs {
			wheptest.DoRequest(t, "DELETE", r.srv.URL+l, "", "", nil)
		}
	})

	t.Run("cors preflight", func(t *testing.T) {
		for _, path := range []string{"/whep/gig1", "/whep/gig1/abc"} {
			resp, _ := wheptest.DoRequest(t, "OPTIONS", r.srv.URL+path, "", "", map[string]string{
				"Origin": "https://player.example", "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "content-type, authorization",
			})
			h := resp.Header
			if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://player.example" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "If-Match") ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Accept-Patch") {
				t.Fatalf("OPTIONS %s = %d %v", path, resp.StatusCode, h)
			}
		}
		resp, _ := wheptest.DoRequest(t, "OPTIONS", r.srv.URL+"/whep/gig1", "", "", map[string]string{"Origin": "https://evil.example"})
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("a foreign origin was allowed")
		}
	})
}

// registerVP8Only registers VP8 and Opus only.
func registerVP8Only(m *webrtc.MediaEngine) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	return m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio)
}

func TestWHEPRefusesBFrames(t *testing.T) {
	r := newRig(t, sfu.Config{})
	_, st := r.publish(t, ingesttest.Options{Extra: []string{"-bf", "2"}})
	wheptest.WaitFor(t, 10*time.Second, "b-frames detected", func() bool { return st.Stats().Video.BFrames })
	resp, body := wheptest.DoRequest(t, "POST", r.srv.URL+"/whep/gig1", "application/sdp", wheptest.NewClient(t, viewerOpts{}).Offer, nil)
	var e apiError
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusConflict || e.Error.Code != "b_frames" ||
		!strings.Contains(e.Error.Message, "B-frames to 0") || !strings.Contains(e.Error.Message, "FLV") {
		t.Fatalf("POST for a B-frame stream = %d %s, want 409 b_frames naming the fix and FLV", resp.StatusCode, body)
	}
}

package whip_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

func waitWHIPLive(t *testing.T, r *rig, gig string) *media.Stream {
	t.Helper()
	var st *media.Stream
	wheptest.WaitFor(t, 10*time.Second, "whip stream with H.264 and Opus", func() bool {
		s, ok := r.reg.Get(gig)
		if !ok || s.Closed() {
			return false
		}
		st = s
		return s.Track(media.CodecH264) != nil && s.Track(media.CodecOpus) != nil
	})
	return st
}

// keyframeAt returns the index of the first video packet that starts an
// access unit holding an IDR, or -1.
func keyframeAt(recs []rtpRecord, from int) int {
	var h codecs.H264Packet
	start := from
	var au []byte
	for i := from; i < len(recs); i++ {
		out, err := h.Unmarshal(recs[i].Payload)
		if err == nil {
			au = append(au, out...)
		}
		if recs[i].Marker {
			for _, nt := range wheptest.NALTypes(au) {
				if nt == 5 {
					return start
				}
			}
			au, start = au[:0], i+1
		}
	}
	return -1
}

func TestWHIPPionPublisherToWHEPViewer(t *testing.T) {
	r := newRig(t, sfu.Config{}, whip.Config{Keys: testKeys})
	p := r.whipPublish(t, "gig1", "key1")
	st := waitWHIPLive(t, r, "gig1")
	if st.Source() != "whip" || r.whip.Publishers() != 1 {
		t.Fatalf("source %q, %d publishers", st.Source(), r.whip.Publishers())
	}
	time.Sleep(500 * time.Millisecond)
	v := r.watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "video and audio at the viewer", func() bool {
		video, audio := v.Snapshot()
		return len(video) > 100 && len(audio) > 50
	})
	video, audio := v.Snapshot()
	t.Logf("first video packet %v after the offer; video %s, audio %s", video[0].At.Sub(v.Started).Round(time.Millisecond), wheptest.Describe(video), wheptest.Describe(audio))
	// The publisher offered VP8 first (pion's and browsers' default
	// order) and sends H.264: the viewer must be told H.264, or a
	// browser decodes nothing.
	if m := videoMime(v); m != webrtc.MimeTypeH264 {
		t.Fatalf("viewer's video codec %q, want H.264 (what the publisher sends)", m)
	}
	types := wheptest.FirstAccessUnit(t, video)
	if len(types) < 3 || types[0] != 7 || types[1] != 8 || types[len(types)-1] != 5 {
		for _, r := range video[:4] {
			t.Logf("seq %d ts %d marker %v payload % x", r.Seq, r.TS, r.Marker, r.Payload[:min(6, len(r.Payload))])
		}
		t.Fatalf("first access unit has NAL types %v, want SPS PPS ... IDR", types)
	}
	wheptest.CheckSeqContinuous(t, "video", video)
	wheptest.CheckSeqContinuous(t, "audio", audio)

	// Stream health from the in-band parameter sets; Opus from the
	// publisher and AAC derived for FLV.
	wheptest.WaitFor(t, 5*time.Second, "derived aac track", func() bool { return st.Track(media.CodecAAC) != nil })
	stats := st.Stats()
	if stats.Video == nil || stats.Video.Codec != "H264" || stats.Video.Width != 640 || stats.Video.Height != 360 || stats.Video.Profile == "" {
		t.Errorf("video stats %+v, want H264 640x360 with a profile", stats.Video)
	}
	var opus, aac bool
	for _, a := range stats.Audio {
		opus = opus || a.Codec == "Opus" && a.SampleRate == 48000 && a.Channels == 2 && !a.Derived
		aac = aac || a.Codec == "AAC" && a.Derived
	}
	if !opus || !aac {
		t.Errorf("audio stats %+v, want the publisher's Opus and a derived AAC", stats.Audio)
	}

	// A viewer's PLI reaches the publisher, throttled per stream; the
	// keyframe comes back to the viewer.
	v.Mu.Lock()
	ssrc := v.SSRCs["video"]
	v.Mu.Unlock()
	time.Sleep(600 * time.Millisecond) // past the throttle of the join's PLI
	before := p.PLIs.Load()
	video, _ = v.Snapshot()
	from := len(video)
	sent := time.Now()
	for i := 0; i < 5; i++ {
		if err := v.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			t.Fatal(err)
		}
	}
	wheptest.WaitFor(t, 3*time.Second, "the PLI at the publisher", func() bool { return p.PLIs.Load() > before })
	var keyAt time.Duration
	wheptest.WaitFor(t, 3*time.Second, "a keyframe after the PLI", func() bool {
		video, _ := v.Snapshot()
		if i := keyframeAt(video, from); i >= 0 {
			keyAt = video[i].At.Sub(sent)
			return true
		}
		return false
	})
	time.Sleep(200 * time.Millisecond)
	if n := p.PLIs.Load() - before; n != 1 {
		t.Errorf("5 PLIs at once reached the publisher %d times, want 1 (throttled to one per 500 ms)", n)
	}
	t.Logf("viewer PLI -> first keyframe packet at the viewer: %v", keyAt.Round(time.Millisecond))

	// A second publisher is refused while the first is healthy.
	pc2 := whiptest.NewPublisherPC(t)
	t.Cleanup(func() { _ = pc2.Close() })
	whiptest.AddTracks(t, pc2)
	offer2 := whiptest.GatheredOffer(t, pc2)
	resp, body := whiptest.Post(t, r.srv.URL+"/whip/gig1", "key1", offer2)
	var e apiError
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusConflict || e.Error.Code != "already_live" {
		t.Fatalf("second publisher = %d %s, want 409 already_live", resp.StatusCode, body)
	}
	if r.whip.Publishers() != 1 {
		t.Fatalf("%d publishers after the refused one", r.whip.Publishers())
	}

	// DELETE ends the show (and the viewer, after the grace), a second
	// DELETE is a quiet 404.
	resp, _ = wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+p.Location, "", "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %d", resp.StatusCode)
	}
	if _, ok := r.reg.Get("gig1"); ok {
		t.Fatal("gig still live after DELETE")
	}
	resp, _ = wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+p.Location, "", "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE = %d, want 404", resp.StatusCode)
	}
	wheptest.WaitFor(t, 10*time.Second, "viewer session closed after the grace", func() bool { return r.sfu.Viewers() == 0 })
}

func TestWHIPErrors(t *testing.T) {
	r := newRig(t, sfu.Config{CORSOrigins: []string{"https://studio.example"},
		ICEServers: []sfu.ICEServer{{URLs: []string{"stun:stun.example.net:3478"}}}}, whip.Config{Keys: testKeys})
	pc := whiptest.NewPublisherPC(t)
	t.Cleanup(func() { _ = pc.Close() })
	whiptest.AddTracks(t, pc)
	good := whiptest.GatheredOffer(t, pc)
	recvOnly := wheptest.NewClient(t, viewerOpts{}).Offer
	tests := []struct {
		name, path, ctype, key, body string
		status                       int
		code, msg                    string
	}{
		{"no key", "/whip/gig1", "application/sdp", "", good, 401, "unauthorized", "Bearer"},
		{"wrong key", "/whip/gig1", "application/sdp", "nope", good, 401, "unauthorized", "unknown stream key"},
		{"other gig's key", "/whip/gig1", "application/sdp", "key2", good, 403, "wrong_gig", ""},
		{"wrong content type", "/whip/gig1", "text/plain", "key1", good, 415, "unsupported_media_type", "application/sdp"},
		{"garbage", "/whip/gig1", "application/sdp", "key1", "hello", 400, "bad_offer", "not an SDP offer"},
		{"receive only", "/whip/gig1", "application/sdp", "key1", recvOnly, 400, "bad_offer", "sends no audio or video"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.key != "" {
				hdr["Authorization"] = "Bearer " + tt.key
			}
			resp, body := wheptest.DoRequest(t, http.MethodPost, r.srv.URL+tt.path, tt.ctype, tt.body, hdr)
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not the JSON error shape", body)
			}
			if resp.StatusCode != tt.status || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.msg) {
				t.Fatalf("= %d %+v, want %d %s mentioning %q", resp.StatusCode, e.Error, tt.status, tt.code, tt.msg)
			}
			if strings.Contains(body, "key1") || strings.Contains(body, "nope") {
				t.Fatalf("the stream key leaked into the error: %s", body)
			}
		})
	}
	t.Run("cors preflight", func(t *testing.T) {
		resp, _ := wheptest.DoRequest(t, http.MethodOptions, r.srv.URL+"/whip/gig1", "", "", map[string]string{
			"Origin": "https://studio.example", "Access-Control-Request-Method": "POST"})
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://studio.example" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Expose-Headers"), "ETag") {
			t.Fatalf("OPTIONS = %d %v", resp.StatusCode, h)
		}
	})
	t.Run("created, trickle, ice restart", func(t *testing.T) {
		resp, answer := whiptest.Post(t, r.srv.URL+"/whip/gig1", "key1", good)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST = %d %s", resp.StatusCode, answer)
		}
		loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		if !strings.HasPrefix(loc, "/whip/gig1/") || etag == "" || len(resp.Header.Values("Link")) != 1 ||
			!strings.Contains(answer, "profile-level-id=42e01f") || !strings.Contains(answer, "opus/48000/2") {
			t.Fatalf("Location %q ETag %q Link %q answer:\n%s", loc, etag, resp.Header.Values("Link"), answer)
		}
		frag := "a=ice-ufrag:" + wheptest.ICEUfragOf(good) + "\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
		resp, body := wheptest.DoRequest(t, http.MethodPatch, r.srv.URL+loc, "application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": etag})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("trickle PATCH = %d %s", resp.StatusCode, body)
		}
		resp, body = wheptest.DoRequest(t, http.MethodPatch, r.srv.URL+loc, "application/trickle-ice-sdpfrag",
			"a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n", map[string]string{"If-Match": "*"})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "a=ice-ufrag:") || !strings.Contains(body, "a=ice-pwd:") ||
			resp.Header.Get("ETag") == etag || resp.Header.Get("ETag") == "" {
			t.Fatalf("ICE restart PATCH = %d ETag %q %s", resp.StatusCode, resp.Header.Get("ETag"), body)
		}
		resp, _ = wheptest.DoRequest(t, http.MethodPatch, r.srv.URL+loc, "application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": etag})
		if resp.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("PATCH with the old ETag = %d, want 412", resp.StatusCode)
		}
		resp, _ = wheptest.DoRequest(t, http.MethodDelete, r.srv.URL+loc, "", "", nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE = %d", resp.StatusCode)
		}
	})
	t.Run("not configured", func(t *testing.T) {
		r2 := newRig(t, sfu.Config{}, whip.Config{})
		resp, body := whiptest.Post(t, r2.srv.URL+"/whip/gig1", "key1", good)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "not configured") {
			t.Fatalf("POST without Keys = %d %s", resp.StatusCode, body)
		}
	})
}

// TestWHIPPublisherReconnectKeepsViewer: the creator's connection drops
// (no DELETE) and a new publisher comes back; the viewer's WHEP session
// continues with continuous sequence numbers and timestamps.
func TestWHIPPublisherReconnectKeepsViewer(t *testing.T) {
	r := newRig(t, sfu.Config{ReconnectGrace: 8 * time.Second}, whip.Config{Keys: testKeys})
	p1 := r.whipPublish(t, "gig1", "key1")
	st1 := waitWHIPLive(t, r, "gig1")
	v := r.watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "video", func() bool { video, _ := v.Snapshot(); return len(video) > 100 })
	dropped := time.Now()
	p1.Stop()
	wheptest.WaitFor(t, 10*time.Second, "the show ends after the drop", func() bool { return st1.Closed() })
	t.Logf("show ended %v after the publisher dropped", time.Since(dropped).Round(time.Millisecond))
	video, _ := v.Snapshot()
	before := len(video)
	r.whipPublish(t, "gig1", "key1")
	waitWHIPLive(t, r, "gig1")
	wheptest.WaitFor(t, 10*time.Second, "video from the new publisher on the same session", func() bool {
		video, _ := v.Snapshot()
		return len(video) > before+100
	})
	if r.sfu.Viewers() != 1 {
		t.Fatalf("%d viewer sessions, want the same one", r.sfu.Viewers())
	}
	video, audio := v.Snapshot()
	wheptest.CheckSeqContinuous(t, "video across the reconnect", video)
	wheptest.CheckSeqContinuous(t, "audio across the reconnect", audio)
	for i := 1; i < len(video); i++ {
		if d := int32(video[i].TS - video[i-1].TS); d < 0 {
			t.Fatalf("video timestamp goes back by %d at packet %d (reconnect at %d)", -d, i, before)
		}
	}
	if s := v.PC.ConnectionState(); s != webrtc.PeerConnectionStateConnected {
		t.Fatalf("viewer connection %s", s)
	}
}

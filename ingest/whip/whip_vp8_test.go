package whip_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// vp8KeyframeAt returns the index of the first video packet at or after
// from that starts a VP8 keyframe, or -1.
func vp8KeyframeAt(recs []rtpRecord, from int) int {
	for i := from; i < len(recs); i++ {
		var p codecs.VP8Packet
		out, err := p.Unmarshal(recs[i].Payload)
		if err == nil && p.S == 1 && p.PID == 0 && len(out) > 0 && out[0]&0x01 == 0 {
			return i
		}
	}
	return -1
}

// TestWHIPVP8Publisher: a browser-like publisher sends VP8 + Opus. WebRTC
// viewers get VP8, FLV players are told clearly that FLV needs H.264, and
// the creator's stream health shows the VP8 video with its frame rate and
// bitrate.
func TestWHIPVP8Publisher(t *testing.T) {
	r := newRig(t, sfu.Config{}, whip.Config{Keys: testKeys})
	p := r.whipPublishClip(t, "gig1", "key1", whiptest.LoadVP8Clip(t))
	var st *media.Stream
	wheptest.WaitFor(t, 10*time.Second, "whip stream with VP8 and Opus", func() bool {
		s, ok := r.reg.Get("gig1")
		if !ok || s.Closed() {
			return false
		}
		st = s
		return s.Track(media.CodecVP8) != nil && s.Track(media.CodecOpus) != nil
	})

	v := r.watch(t, viewerOpts{})
	wheptest.WaitFor(t, 10*time.Second, "VP8 video and Opus audio at the viewer", func() bool {
		video, audio := v.Snapshot()
		return len(video) > 60 && len(audio) > 50
	})
	if m := videoMime(v); m != webrtc.MimeTypeVP8 {
		t.Fatalf("viewer's video codec %q, want VP8", m)
	}
	video, audio := v.Snapshot()
	t.Logf("first video packet %v after the offer; video %s, audio %s", video[0].At.Sub(v.Started).Round(time.Millisecond), wheptest.Describe(video), wheptest.Describe(audio))
	if vp8KeyframeAt(video, 0) != 0 {
		t.Fatalf("the viewer's first video packet does not start a VP8 keyframe: % x", video[0].Payload[:min(8, len(video[0].Payload))])
	}
	wheptest.CheckSeqContinuous(t, "video", video)
	wheptest.CheckSeqContinuous(t, "audio", audio)

	// FLV players get the clear error, not a stream they cannot decode.
	fh := flv.NewHandler(flv.Config{}, r.reg, testLogger(t))
	mux := http.NewServeMux()
	mux.Handle("GET /live/{file}", fh)
	fsrv := httptest.NewServer(mux)
	t.Cleanup(fsrv.Close)
	resp, body := wheptest.DoRequest(t, http.MethodGet, fsrv.URL+"/live/gig1.flv", "", "", nil)
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("FLV answer %d %q is not the JSON error shape", resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusUnsupportedMediaType || e.Error.Code != "unsupported_codec" ||
		!strings.Contains(e.Error.Message, "H.264") || !strings.Contains(e.Error.Message, "VP8") || !strings.Contains(e.Error.Message, "WebRTC") {
		t.Fatalf("FLV of a VP8 show = %d %+v, want 415 unsupported_codec naming H.264, VP8 and WebRTC", resp.StatusCode, e.Error)
	}

	// Stream health: VP8 at the clip's 30 fps, its bitrate and its 1 s
	// keyframe interval.
	var stats media.Stats
	// The keyframe interval needs a second keyframe, which can come after
	// the frame rate settles.
	wheptest.WaitFor(t, 10*time.Second, "VP8 frame rate and keyframe interval in the stream health", func() bool {
		stats = st.Stats()
		return stats.Video != nil && stats.Video.FPS >= 25 && stats.Video.KeyframeInterval > 0
	})
	if vs := stats.Video; vs.Codec != "VP8" || vs.Width != 640 || vs.Height != 360 || vs.FPS > 35 || vs.BitrateKbps < 100 || vs.KeyframeInterval <= 0 || vs.KeyframeInterval > 1.5 {
		t.Fatalf("video stats %+v, want VP8 640x360 at ~30 fps, > 100 kbit/s, keyframes every ~1 s", vs)
	}
	var opus bool
	for _, a := range stats.Audio {
		opus = opus || a.Codec == "Opus" && !a.Derived && a.BitrateKbps > 0
	}
	if !opus {
		t.Fatalf("audio stats %+v, want the publisher's Opus", stats.Audio)
	}
	t.Logf("stream health: video %+v", *stats.Video)

	// A viewer's PLI reaches the publisher and a VP8 keyframe comes back.
	v.Mu.Lock()
	ssrc := v.SSRCs["video"]
	v.Mu.Unlock()
	time.Sleep(600 * time.Millisecond) // past the throttle of the join's PLI
	before := p.PLIs.Load()
	video, _ = v.Snapshot()
	from := len(video)
	sent := time.Now()
	if err := v.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	wheptest.WaitFor(t, 3*time.Second, "the PLI at the publisher", func() bool { return p.PLIs.Load() > before })
	wheptest.WaitFor(t, 3*time.Second, "a VP8 keyframe after the PLI", func() bool {
		video, _ := v.Snapshot()
		if i := vp8KeyframeAt(video, from); i >= 0 {
			t.Logf("viewer PLI -> first VP8 keyframe packet at the viewer: %v", video[i].At.Sub(sent).Round(time.Millisecond))
			return true
		}
		return false
	})
}

// videoMime is the codec of the viewer's received video track.
func videoMime(v *viewer) string {
	for _, tr := range v.PC.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && tr.Receiver() != nil && tr.Receiver().Track() != nil {
			return tr.Receiver().Track().Codec().MimeType
		}
	}
	return ""
}

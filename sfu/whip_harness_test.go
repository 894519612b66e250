package sfu_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// keysAdapter resolves test stream keys, wrapping access.ErrUnknownKey the way
// cmd's store adapter does.
type keysAdapter map[string]string

func (k keysAdapter) ResolveStreamKey(_ context.Context, key string) (string, error) {
	g, ok := k[key]
	if !ok {
		return "", errors.Join(errors.New("no gig for key"), access.ErrUnknownKey)
	}
	return g, nil
}

var testKeys = keysAdapter{"key1": "gig1", "key2": "gig2"}

// accessUnit is one H.264 access unit of the test clip, in Annex-B.
type accessUnit struct {
	data []byte
	key  bool
}

// whipClip is a real x264 clip (Annex-B, no B-frames, SPS/PPS before every
// IDR) or libvpx VP8 clip (whole frames from IVF), and Opus packets from
// libopus, made by ffmpeg once per test binary.
type whipClip struct {
	// mime is the video codec (H.264 unless set).
	mime  string
	video []accessUnit
	audio [][]byte
}

var (
	clipOnce sync.Once
	clipVal  *whipClip
	clipErr  error
)

func loadWHIPClip(t *testing.T) *whipClip {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install it with `apt-get install -y ffmpeg` (or `make deps-test`)", bin)
		}
	}
	clipOnce.Do(func() { clipVal, clipErr = makeWHIPClip(h264ClipOpts{}) })
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	return clipVal
}

// h264ClipOpts shapes the H.264 clip; zero values: 640x360, 1 s GOP,
// x264's default rate control, 10 s.
type h264ClipOpts struct {
	size    string // "1280x720"
	gop     int    // frames
	bitrate string // "2500k"
	seconds int
}

func makeWHIPClip(o h264ClipOpts) (*whipClip, error) {
	if o.size == "" {
		o.size = "640x360"
	}
	if o.gop == 0 {
		o.gop = 30
	}
	if o.seconds == 0 {
		o.seconds = 10
	}
	dir, err := os.MkdirTemp("", "bmg-whip-clip-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	h264Path, oggPath := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	dur := strconv.Itoa(o.seconds)
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=" + o.size + ":rate=30:duration=" + dur, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=" + dur,
		"-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", strconv.Itoa(o.gop),
		"-profile:v", "baseline", "-x264-params", "repeat-headers=1:sliced-threads=0", "-threads", "1", "-pix_fmt", "yuv420p"}
	if o.bitrate != "" {
		args = append(args, "-b:v", o.bitrate, "-maxrate", o.bitrate, "-bufsize", o.bitrate)
	}
	args = append(args, "-f", "h264", h264Path,
		"-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "96k", "-frame_duration", "20", "-page_duration", "20000", oggPath)
	cmd := exec.Command("ffmpeg", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New("ffmpeg clip: " + err.Error() + "\n" + string(out))
	}
	c := &whipClip{mime: webrtc.MimeTypeH264}
	hf, err := os.Open(h264Path)
	if err != nil {
		return nil, err
	}
	defer hf.Close()
	hr, err := h264reader.NewReader(hf)
	if err != nil {
		return nil, err
	}
	var cur accessUnit
	for {
		nal, err := hr.NextNAL()
		if err != nil {
			break
		}
		cur.data = append(cur.data, 0, 0, 0, 1)
		cur.data = append(cur.data, nal.Data...)
		switch nal.UnitType {
		case h264reader.NalUnitTypeCodedSliceIdr:
			cur.key = true
			fallthrough
		case h264reader.NalUnitTypeCodedSliceNonIdr:
			c.video = append(c.video, cur)
			cur = accessUnit{}
		}
	}
	if c.audio, err = readOpusPackets(oggPath); err != nil {
		return nil, err
	}
	if len(c.video) < 100 || len(c.audio) < 100 || !c.video[0].key {
		return nil, errors.New("ffmpeg clip too short or not starting at a keyframe")
	}
	return c, nil
}

// readOpusPackets returns the Opus packets of an Ogg file written with
// one packet per page.
func readOpusPackets(path string) ([][]byte, error) {
	of, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer of.Close()
	or, _, err := oggreader.NewWith(of)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		page, _, err := or.ParseNextPage()
		if err != nil {
			break
		}
		if bytes.HasPrefix(page, []byte("OpusHead")) || bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		out = append(out, page)
	}
	return out, nil
}

// whipPublisher is an in-process pion WHIP client sending the clip in real
// time, in a loop. Like a browser it answers a PLI with a keyframe (it
// skips to the clip's next IDR).
type whipPublisher struct {
	pc       *webrtc.PeerConnection
	location string
	etag     string
	plis     atomic.Int32
	keyReq   atomic.Bool
	keysSent atomic.Int32
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

func newPublisherPC(t *testing.T) *webrtc.PeerConnection {
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
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// whipOffer adds H.264 and Opus tracks to pc.
func whipOffer(t *testing.T, pc *webrtc.PeerConnection) (video, audio *webrtc.TrackLocalStaticSample, vs *webrtc.RTPSender) {
	t.Helper()
	return whipOfferCodec(t, pc, webrtc.MimeTypeH264)
}

// whipOfferCodec adds a video track of codec mime (H.264 or VP8) and an
// Opus track to pc.
func whipOfferCodec(t *testing.T, pc *webrtc.PeerConnection, mime string) (video, audio *webrtc.TrackLocalStaticSample, vs *webrtc.RTPSender) {
	t.Helper()
	vc := webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}
	if mime == webrtc.MimeTypeH264 {
		vc.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	video, err := webrtc.NewTrackLocalStaticSample(vc, "video", "creator")
	if err != nil {
		t.Fatal(err)
	}
	audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "creator")
	if err != nil {
		t.Fatal(err)
	}
	vs, err = pc.AddTrack(video)
	if err != nil {
		t.Fatal(err)
	}
	if mime != webrtc.MimeTypeH264 {
		// Offer only this codec, as a browser told to send it does
		// (setCodecPreferences): the server prefers H.264 when offered.
		for _, tr := range pc.GetTransceivers() {
			if tr.Sender() == vs {
				if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{{RTPCodecCapability: vc, PayloadType: 96}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := pc.AddTrack(audio); err != nil {
		t.Fatal(err)
	}
	return video, audio, vs
}

func gatheredOffer(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	of, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(of); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

func postWHIP(t *testing.T, url, key, sdp string) (*http.Response, string) {
	t.Helper()
	hdr := map[string]string{}
	if key != "" {
		hdr["Authorization"] = "Bearer " + key
	}
	return doRequest(t, http.MethodPost, url, "application/sdp", sdp, hdr)
}

// whipPublish connects a publisher of the H.264 clip for gig with key and
// starts sending.
func (r *rig) whipPublish(t *testing.T, gig, key string) *whipPublisher {
	t.Helper()
	return r.whipPublishClip(t, gig, key, loadWHIPClip(t))
}

// whipPublishClip connects a publisher of clip for gig with key and starts
// sending.
func (r *rig) whipPublishClip(t *testing.T, gig, key string, clip *whipClip) *whipPublisher {
	t.Helper()
	return publishWHIP(t, r.srv.URL, gig, key, clip)
}

// publishWHIP connects a publisher of clip to the server at baseURL.
func publishWHIP(t *testing.T, baseURL, gig, key string, clip *whipClip) *whipPublisher {
	t.Helper()
	pc := newPublisherPC(t)
	t.Cleanup(func() { _ = pc.Close() })
	video, audio, vs := whipOfferCodec(t, pc, clip.mime)
	resp, body := postWHIP(t, baseURL+"/whip/"+gig, key, gatheredOffer(t, pc))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip/%s = %d %s", gig, resp.StatusCode, body)
	}
	p := &whipPublisher{pc: pc, location: resp.Header.Get("Location"), etag: resp.Header.Get("ETag")}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done.Add(3)
	go func() {
		defer p.done.Done()
		for {
			pkts, _, err := vs.ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				switch pk.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					p.plis.Add(1)
					p.keyReq.Store(true)
				}
			}
		}
	}()
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		i := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if p.keyReq.Swap(false) && !clip.video[i%len(clip.video)].key {
				for !clip.video[i%len(clip.video)].key {
					i++
				}
			}
			au := clip.video[i%len(clip.video)]
			if au.key {
				p.keysSent.Add(1)
			}
			if err := video.WriteSample(pmedia.Sample{Data: au.data, Duration: time.Second / 30}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
			i++
		}
	}()
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = audio.WriteSample(pmedia.Sample{Data: clip.audio[i%len(clip.audio)], Duration: 20 * time.Millisecond})
		}
	}()
	t.Cleanup(p.stop)
	return p
}

// stop ends sending and closes the PeerConnection without a DELETE (a
// dropped publisher).
func (p *whipPublisher) stop() {
	p.cancel()
	_ = p.pc.Close()
	p.done.Wait()
}

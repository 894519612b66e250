// Package whiptest publishes to a WHIP endpoint from tests: real x264 or
// libvpx clips with libopus audio made by ffmpeg, and a pion publisher that
// sends them in real time and answers keyframe requests. Like
// ingest/ingesttest for RTMP, it is for _test.go files only.
package whiptest

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
	"strings"
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
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Keys resolves test stream keys, wrapping access.ErrUnknownKey the way
// cmd's store adapter does.
type Keys map[string]string

// ResolveStreamKey implements access.KeyResolver.
func (k Keys) ResolveStreamKey(_ context.Context, key string) (string, error) {
	g, ok := k[key]
	if !ok {
		return "", errors.Join(errors.New("no gig for key"), access.ErrUnknownKey)
	}
	return g, nil
}

// AccessUnit is one H.264 access unit of the test clip, in Annex-B.
type AccessUnit struct {
	Data []byte
	Key  bool
}

// Clip is a real x264 clip (Annex-B, no B-frames, SPS/PPS before every
// IDR) or libvpx VP8 clip (whole frames from IVF), and Opus packets from
// libopus, made by ffmpeg once per test binary.
type Clip struct {
	// mime is the video codec (H.264 unless set).
	Mime  string
	Video []AccessUnit
	Audio [][]byte
}

var (
	clipOnce sync.Once
	clipVal  *Clip
	clipErr  error
)

// LoadClip returns the H.264 clip (made once per test binary).
func LoadClip(t testing.TB) *Clip {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install it with `apt-get install -y ffmpeg` (or `make deps-test`)", bin)
		}
	}
	clipOnce.Do(func() { clipVal, clipErr = MakeClip(ClipOpts{}) })
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	return clipVal
}

// ClipOpts shapes the H.264 clip; zero values: 640x360, 1 s GOP,
// x264's default rate control, 10 s.
type ClipOpts struct {
	Size    string // "1280x720"
	GOP     int    // frames
	Bitrate string // "2500k"
	Seconds int
}

// MakeClip makes an H.264 clip shaped by o.
func MakeClip(o ClipOpts) (*Clip, error) {
	if o.Size == "" {
		o.Size = "640x360"
	}
	if o.GOP == 0 {
		o.GOP = 30
	}
	if o.Seconds == 0 {
		o.Seconds = 10
	}
	dir, err := os.MkdirTemp("", "bmg-whip-clip-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	h264Path, oggPath := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	dur := strconv.Itoa(o.Seconds)
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=" + o.Size + ":rate=30:duration=" + dur, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=" + dur,
		"-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", strconv.Itoa(o.GOP),
		"-profile:v", "baseline", "-x264-params", "repeat-headers=1:sliced-threads=0", "-threads", "1", "-pix_fmt", "yuv420p"}
	if o.Bitrate != "" {
		args = append(args, "-b:v", o.Bitrate, "-maxrate", o.Bitrate, "-bufsize", o.Bitrate)
	}
	args = append(args, "-f", "h264", h264Path,
		"-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "96k", "-frame_duration", "20", "-page_duration", "20000", oggPath)
	cmd := exec.Command("ffmpeg", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New("ffmpeg clip: " + err.Error() + "\n" + string(out))
	}
	c := &Clip{Mime: webrtc.MimeTypeH264}
	hf, err := os.Open(h264Path)
	if err != nil {
		return nil, err
	}
	defer hf.Close()
	hr, err := h264reader.NewReader(hf)
	if err != nil {
		return nil, err
	}
	var cur AccessUnit
	for {
		nal, err := hr.NextNAL()
		if err != nil {
			break
		}
		cur.Data = append(cur.Data, 0, 0, 0, 1)
		cur.Data = append(cur.Data, nal.Data...)
		switch nal.UnitType {
		case h264reader.NalUnitTypeCodedSliceIdr:
			cur.Key = true
			fallthrough
		case h264reader.NalUnitTypeCodedSliceNonIdr:
			c.Video = append(c.Video, cur)
			cur = AccessUnit{}
		}
	}
	if c.Audio, err = readOpusPackets(oggPath); err != nil {
		return nil, err
	}
	if len(c.Video) < 100 || len(c.Audio) < 100 || !c.Video[0].Key {
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

// Publisher is an in-process pion WHIP client sending the clip in real
// time, in a loop. Like a browser it answers a PLI with a keyframe (it
// skips to the clip's next IDR).
type Publisher struct {
	PC *webrtc.PeerConnection
	// Location and ETag are the session's, from the 201.
	Location string
	ETag     string
	// PLIs counts the keyframe requests the server sent.
	PLIs     atomic.Int32
	keyReq   atomic.Bool
	keysSent atomic.Int32
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// NewPublisherPC returns a publisher's PeerConnection (pion's default
// codecs and interceptors, loopback UDP candidates).
func NewPublisherPC(t *testing.T) *webrtc.PeerConnection {
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

// AddTracks adds H.264 and Opus tracks to pc.
func AddTracks(t *testing.T, pc *webrtc.PeerConnection) (video, audio *webrtc.TrackLocalStaticSample, vs *webrtc.RTPSender) {
	t.Helper()
	return AddTracksCodec(t, pc, webrtc.MimeTypeH264)
}

// AddTracksCodec adds a video track of codec mime (H.264 or VP8) and an
// Opus track to pc.
func AddTracksCodec(t *testing.T, pc *webrtc.PeerConnection, mime string) (video, audio *webrtc.TrackLocalStaticSample, vs *webrtc.RTPSender) {
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

// GatheredOffer makes pc's offer with every candidate in it.
func GatheredOffer(t *testing.T, pc *webrtc.PeerConnection) string {
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

// Post posts an offer to a WHIP endpoint with key as the Bearer token
// (none when empty) and returns the response and its body.
func Post(t *testing.T, url, key, sdp string) (*http.Response, string) {
	t.Helper()
	hdr := map[string]string{}
	if key != "" {
		hdr["Authorization"] = "Bearer " + key
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(sdp))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
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

// Publish connects a publisher of clip to the server at baseURL.
func Publish(t *testing.T, baseURL, gig, key string, clip *Clip) *Publisher {
	t.Helper()
	pc := NewPublisherPC(t)
	t.Cleanup(func() { _ = pc.Close() })
	video, audio, vs := AddTracksCodec(t, pc, clip.Mime)
	resp, body := Post(t, baseURL+"/whip/"+gig, key, GatheredOffer(t, pc))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip/%s = %d %s", gig, resp.StatusCode, body)
	}
	p := &Publisher{PC: pc, Location: resp.Header.Get("Location"), ETag: resp.Header.Get("ETag")}
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
					p.PLIs.Add(1)
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
			if p.keyReq.Swap(false) && !clip.Video[i%len(clip.Video)].Key {
				for !clip.Video[i%len(clip.Video)].Key {
					i++
				}
			}
			au := clip.Video[i%len(clip.Video)]
			if au.Key {
				p.keysSent.Add(1)
			}
			if err := video.WriteSample(pmedia.Sample{Data: au.Data, Duration: time.Second / 30}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
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
			_ = audio.WriteSample(pmedia.Sample{Data: clip.Audio[i%len(clip.Audio)], Duration: 20 * time.Millisecond})
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop ends sending and closes the PeerConnection without a DELETE (a
// dropped publisher).
func (p *Publisher) Stop() {
	p.cancel()
	_ = p.PC.Close()
	p.done.Wait()
}

var (
	vp8ClipOnce sync.Once
	vp8ClipVal  *Clip
	vp8ClipErr  error
)

// LoadVP8Clip is a libvpx VP8 clip (1 s keyframe interval) with libopus
// audio, what a browser sending VP8 produces.
func LoadVP8Clip(t *testing.T) *Clip {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not found: install it with `apt-get install -y ffmpeg` (or `make deps-test`)")
	}
	vp8ClipOnce.Do(func() { vp8ClipVal, vp8ClipErr = MakeVP8Clip() })
	if vp8ClipErr != nil {
		t.Fatal(vp8ClipErr)
	}
	return vp8ClipVal
}

// MakeVP8Clip makes the VP8 clip.
func MakeVP8Clip() (*Clip, error) {
	dir, err := os.MkdirTemp("", "bmg-vp8-clip-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ivfPath, oggPath := filepath.Join(dir, "v.ivf"), filepath.Join(dir, "a.ogg")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
		"-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-g", "30", "-keyint_min", "30",
		"-threads", "1", "-pix_fmt", "yuv420p", "-f", "ivf", ivfPath,
		"-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "96k", "-frame_duration", "20", "-page_duration", "20000", oggPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New("ffmpeg vp8 clip (needs ffmpeg built with libvpx, as Debian's is): " + err.Error() + "\n" + string(out))
	}
	c := &Clip{Mime: webrtc.MimeTypeVP8}
	f, err := os.Open(ivfPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ivf, hdr, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	if string(hdr.FourCC[:]) != "VP80" {
		return nil, errors.New("ivf fourcc " + string(hdr.FourCC[:]) + ", want VP80")
	}
	for {
		frame, _, err := ivf.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		// VP8 frame tag: bit 0 is 0 for a keyframe (RFC 6386 9.1).
		c.Video = append(c.Video, AccessUnit{Data: frame, Key: len(frame) > 0 && frame[0]&0x01 == 0})
	}
	if c.Audio, err = readOpusPackets(oggPath); err != nil {
		return nil, err
	}
	if len(c.Video) < 100 || len(c.Audio) < 100 || !c.Video[0].Key {
		return nil, errors.New("ffmpeg vp8 clip too short or not starting at a keyframe")
	}
	return c, nil
}

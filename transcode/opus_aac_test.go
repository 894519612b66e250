//go:build cgo

package transcode

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// ffmpegOpus encodes seconds of a 440 Hz tone with ffmpeg's libopus into an
// Ogg file and returns its packets (20 ms each).
func ffmpegOpus(t testing.TB, seconds float64) [][]byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not found: install it with `apt-get install -y ffmpeg` (or run `make deps-test`)")
	}
	path := filepath.Join(t.TempDir(), "tone.ogg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "sine=frequency=440:sample_rate=48000:duration="+strconv.FormatFloat(seconds, 'f', 2, 64),
		"-ac", "2", "-c:a", "libopus", "-b:a", "96k", "-frame_duration", "20", "-page_duration", "20000", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg libopus: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for {
		page, _, err := r.ParseNextPage()
		if err != nil {
			break
		}
		if bytes.HasPrefix(page, []byte("OpusHead")) || bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		pkts = append(pkts, page)
	}
	return pkts
}

// aacSink collects the AAC track and frames written back into the stream.
type aacSink struct {
	mu     sync.Mutex
	track  *media.Track
	frames []*media.Frame
}

func (s *aacSink) OnTrack(t *media.Track) {
	if t.Codec == media.CodecAAC {
		s.mu.Lock()
		s.track = t
		s.mu.Unlock()
	}
}

func (s *aacSink) OnFrame(f *media.Frame) {
	if f.Codec == media.CodecAAC {
		s.mu.Lock()
		s.frames = append(s.frames, f)
		s.mu.Unlock()
	}
}

func (s *aacSink) snapshot() (*media.Track, []*media.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.track, append([]*media.Frame(nil), s.frames...)
}

// adts wraps AAC-LC access units in ADTS headers so ffmpeg can decode them.
func adts(cfg *media.AACConfig, frames []*media.Frame) []byte {
	idx := 3 // 48000
	for i, r := range adtsRates {
		if r == cfg.SampleRate {
			idx = i
		}
	}
	var out []byte
	for _, f := range frames {
		n := len(f.Data) + 7
		out = append(out, 0xff, 0xf1, byte((cfg.ObjectType-1)<<6|idx<<2|cfg.Channels>>2),
			byte(cfg.Channels&3<<6|n>>11), byte(n>>3), byte(n&7<<5|0x1f), 0xfc)
		out = append(out, f.Data...)
	}
	return out
}

func TestOpusToAAC(t *testing.T) {
	pkts := ffmpegOpus(t, 3)
	s := media.NewStream(media.StreamConfig{GigID: "g1", Source: "whip"}, nil)
	defer s.Close()
	sink := &aacSink{}
	detach, err := s.Attach(sink, false)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	// The clip is written at once, not in real time: room for all of it.
	tr, err := Start(s, Config{QueueFrames: 1024}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s.SetTrack(&media.Track{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2})
	start := 5 * time.Second
	for i, p := range pkts {
		if err := s.WriteFrame(&media.Frame{Codec: media.CodecOpus, DTS: start + time.Duration(i)*20*time.Millisecond, Data: p}); err != nil {
			t.Fatal(err)
		}
	}
	want := len(pkts)*960/1024 - 3
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, f := sink.snapshot(); len(f) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	track, frames := sink.snapshot()
	if track == nil || !track.Derived || track.AAC == nil || track.AAC.SampleRate != 48000 || track.AAC.Channels != 2 {
		t.Fatalf("aac track %+v, want a derived 48 kHz stereo AAC track", track)
	}
	if len(frames) < want {
		t.Fatalf("%d aac frames from %d opus packets, want at least %d (stats %+v)", len(frames), len(pkts), want, tr.Stats())
	}
	if st := tr.Stats(); st.FramesIn != uint64(len(pkts)) || st.DecodeErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	if frames[0].DTS < start-50*time.Millisecond || frames[0].DTS > start+50*time.Millisecond {
		t.Errorf("first aac frame at %v, want about %v", frames[0].DTS, start)
	}
	for i := 1; i < len(frames); i++ {
		if d := frames[i].DTS - frames[i-1].DTS; d < 20*time.Millisecond || d > 23*time.Millisecond {
			t.Fatalf("aac frame %d advances %v, want 21.3 ms", i, d)
		}
	}
	// The real decoder hears the tone.
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-f", "aac", "-i", "pipe:", "-af", "volumedetect", "-f", "null", "-")
	cmd.Stdin = bytes.NewReader(adts(track.AAC, frames))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg decode: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no volume in ffmpeg output:\n%s", out)
	}
	if v, _ := strconv.ParseFloat(string(m[1]), 64); v < -30 {
		t.Fatalf("decoded aac mean volume %v dB: silence, want the tone", v)
	}
}

// TestTranscodersIgnoreEachOther: an AAC source gets a derived Opus track
// and no AAC copy of it; nothing loops.
func TestTranscodersIgnoreEachOther(t *testing.T) {
	clip := ffmpegAAC(t, 48000, 2, 1, false)
	tr, _, frames, _ := transcodeClip(t, clip, Config{}, 0, 0)
	if len(frames) == 0 {
		t.Fatal("no opus out of the aac source")
	}
	if st := tr.OpusToAAC().Stats(); st.FramesIn != 0 {
		t.Fatalf("opus -> aac read the derived opus track: %+v", st)
	}
}

// BenchmarkOpusToAAC measures the CPU one stream-second of 48 kHz stereo
// Opus costs to decode and encode to AAC (ms-cpu/stream-s).
func BenchmarkOpusToAAC(b *testing.B) {
	pkts := ffmpegOpus(b, 10)
	streamSeconds := float64(len(pkts)) * 0.02
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c, err := newOpusAACCodec(128000)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pkts {
			if _, err := c.decode(p); err != nil {
				b.Fatal(err)
			}
			for {
				au, _, err := c.encode()
				if err != nil {
					b.Fatal(err)
				}
				if au == nil {
					break
				}
			}
		}
		c.free()
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N)/streamSeconds, "ms-cpu/stream-s")
}

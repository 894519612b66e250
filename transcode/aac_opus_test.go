//go:build cgo

package transcode

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/benchproc"
	"github.com/bookmygig/bookmygig/media"
)

// aacClip is AAC made by the real ffmpeg encoder, split into access units.
type aacClip struct {
	asc      []byte
	rate     int
	channels int
	frames   [][]byte
}

var adtsRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// ffmpegAAC encodes seconds of a sine tone (or silence) with ffmpeg's aac
// encoder into ADTS and splits it.
func ffmpegAAC(t testing.TB, rate, channels int, seconds float64, silent bool) *aacClip {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not found: install it with `apt-get install -y ffmpeg` (or run `make deps-test`)")
	}
	src := fmt.Sprintf("sine=frequency=440:sample_rate=%d:duration=%g", rate, seconds)
	if silent {
		src = fmt.Sprintf("anullsrc=r=%d:cl=mono:d=%g", rate, seconds)
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", src,
		"-ac", fmt.Sprint(channels), "-c:a", "aac", "-b:a", "128k", "-f", "adts", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg aac: %v", err)
	}
	return splitADTS(t, out)
}

func splitADTS(t testing.TB, b []byte) *aacClip {
	t.Helper()
	c := &aacClip{}
	for len(b) >= 7 {
		if b[0] != 0xff || b[1]&0xf0 != 0xf0 {
			t.Fatalf("adts sync lost")
		}
		protAbsent := b[1]&1 == 1
		profile := int(b[2]>>6) + 1
		srIdx := int(b[2]>>2) & 0xf
		ch := int(b[2]&1)<<2 | int(b[3]>>6)
		n := int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
		hdr := 7
		if !protAbsent {
			hdr = 9
		}
		if n > len(b) || n < hdr {
			t.Fatalf("adts frame of %d bytes with %d left", n, len(b))
		}
		if c.asc == nil {
			c.asc = []byte{byte(profile<<3 | srIdx>>1), byte(srIdx&1<<7 | ch<<3)}
			c.rate, c.channels = adtsRates[srIdx], ch
		}
		c.frames = append(c.frames, append([]byte(nil), b[hdr:n]...))
		b = b[n:]
	}
	return c
}

// opusSink collects what the transcoder writes back into the stream.
type opusSink struct {
	mu     sync.Mutex
	track  *media.Track
	frames []*media.Frame
}

func (s *opusSink) OnTrack(t *media.Track) {
	if t.Codec == media.CodecOpus {
		s.mu.Lock()
		s.track = t
		s.mu.Unlock()
	}
}

func (s *opusSink) OnFrame(f *media.Frame) {
	if f.Codec == media.CodecOpus {
		s.mu.Lock()
		s.frames = append(s.frames, f)
		s.mu.Unlock()
	}
}

func (s *opusSink) snapshot() (*media.Track, []*media.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.track, append([]*media.Frame(nil), s.frames...)
}

// transcodeClip publishes the clip on a stream (DTS from the sample count,
// plus gapAt/gap to simulate a publisher stall) and returns the Opus frames.
func transcodeClip(t *testing.T, clip *aacClip, cfg Config, gapAt int, gap time.Duration) (*Transcoder, *media.Track, []*media.Frame, []time.Duration) {
	t.Helper()
	s := media.NewStream(media.StreamConfig{GigID: "g1", Source: "rtmp"}, nil)
	defer s.Close()
	sink := &opusSink{}
	detach, err := s.Attach(sink, false)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	tr, err := Start(s, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	aac, err := media.ParseAudioSpecificConfig(clip.asc)
	if err != nil {
		t.Fatal(err)
	}
	s.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: aac, SampleRate: aac.SampleRate, Channels: aac.Channels})
	start := 10 * time.Second // a stream rarely starts at 0 when a viewer arrives
	var dts []time.Duration
	for i, f := range clip.frames {
		d := start + time.Duration(i)*1024*time.Second/time.Duration(clip.rate)
		if gapAt > 0 && i >= gapAt {
			d += gap
		}
		dts = append(dts, d)
		if err := s.WriteFrame(&media.Frame{Codec: media.CodecAAC, DTS: d, Data: f}); err != nil {
			t.Fatal(err)
		}
	}
	want := int(tr.Stats().FramesIn) * 1024 * 48000 / clip.rate / 960
	// Done when the output stopped growing for a while (the queue drained)
	// and is about as long as the input.
	deadline := time.Now().Add(10 * time.Second)
	last, stableSince := -1, time.Now()
	for time.Now().Before(deadline) {
		_, frames := sink.snapshot()
		if len(frames) != last {
			last, stableSince = len(frames), time.Now()
		} else if time.Since(stableSince) > 150*time.Millisecond && (len(frames) >= want-2 || tr.Stats().Dropped > 0) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	track, frames := sink.snapshot()
	return tr, track, frames, dts
}

func TestAACToOpus(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		channels int
	}{
		{"44.1kHz stereo", 44100, 2},
		{"48kHz mono", 48000, 1},
		{"32kHz stereo", 32000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clip := ffmpegAAC(t, tt.rate, tt.channels, 3, false)
			tr, track, frames, dts := transcodeClip(t, clip, Config{QueueFrames: 4096}, 0, 0)
			st := tr.Stats()
			if track == nil || track.SampleRate != 48000 || track.Channels != 2 || !track.Derived {
				t.Fatalf("opus track = %+v, want 48000 Hz, 2 channels, derived", track)
			}
			wantFrames := len(clip.frames) * 1024 * 48000 / tt.rate / 960
			if n := len(frames); n < wantFrames-2 || n > wantFrames {
				t.Fatalf("got %d opus frames, want about %d (stats %+v)", n, wantFrames, st)
			}
			if frames[0].DTS != dts[0] {
				t.Errorf("first opus DTS %v, want first aac DTS %v", frames[0].DTS, dts[0])
			}
			for i := 1; i < len(frames); i++ {
				if d := frames[i].DTS - frames[i-1].DTS; d != 20*time.Millisecond {
					t.Fatalf("opus frame %d advances %v, want 20ms", i, d)
				}
			}
			if st.Resyncs != 0 || st.Dropped != 0 || st.DecodeErrors != 0 {
				t.Errorf("stats %+v, want no resyncs, drops or errors", st)
			}
			rms, hz := analyse(t, frames)
			if rms < 1000 {
				t.Errorf("decoded opus rms %.0f: silence, want a 440 Hz tone", rms)
			}
			if math.Abs(hz-440) > 20 {
				t.Errorf("decoded tone %.0f Hz, want 440", hz)
			}
		})
	}
}

// analyse decodes the Opus frames (skipping the first 100 ms of codec
// warm-up) and returns the left channel's RMS and its zero-crossing
// frequency.
func analyse(t *testing.T, frames []*media.Frame) (rms, hz float64) {
	t.Helper()
	dec, err := NewOpusDecoder(48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var sum float64
	var n, crossings int
	prev := int16(0)
	for i, f := range frames {
		pcm, err := dec.Decode(f.Data)
		if err != nil {
			t.Fatalf("opus frame %d: %v", i, err)
		}
		if len(pcm) != 960*2 {
			t.Fatalf("opus frame %d decodes to %d samples, want 960 per channel", i, len(pcm)/2)
		}
		if i < 5 {
			continue
		}
		for j := 0; j < len(pcm); j += 2 {
			s := pcm[j]
			sum += float64(s) * float64(s)
			if prev < 0 && s >= 0 {
				crossings++
			}
			prev = s
			n++
		}
	}
	if n == 0 {
		t.Fatal("no opus audio to analyse")
	}
	return math.Sqrt(sum / float64(n)), float64(crossings) / (float64(n) / 48000)
}

func TestAACToOpusResyncsAfterGap(t *testing.T) {
	clip := ffmpegAAC(t, 48000, 2, 2, false)
	gapAt := len(clip.frames) / 2
	tr, _, frames, dts := transcodeClip(t, clip, Config{QueueFrames: 4096}, gapAt, time.Second)
	if st := tr.Stats(); st.Resyncs != 1 {
		t.Fatalf("resyncs = %d, want 1 (stats %+v)", st.Resyncs, st)
	}
	// After the gap, the Opus clock must follow the input again.
	last := frames[len(frames)-1]
	inputEnd := dts[len(dts)-1] + 1024*time.Second/48000
	if d := inputEnd - (last.DTS + 20*time.Millisecond); d < -maxDrift || d > maxDrift {
		t.Fatalf("last opus frame ends at %v, input ends at %v", last.DTS+20*time.Millisecond, inputEnd)
	}
	jumps := 0
	for i := 1; i < len(frames); i++ {
		if frames[i].DTS-frames[i-1].DTS > 500*time.Millisecond {
			jumps++
		}
	}
	if jumps != 1 {
		t.Fatalf("opus timeline jumps %d times, want once at the gap", jumps)
	}
}

func TestAACToOpusSilenceIsValid(t *testing.T) {
	clip := ffmpegAAC(t, 48000, 1, 1, true)
	_, _, frames, _ := transcodeClip(t, clip, Config{QueueFrames: 4096}, 0, 0)
	if len(frames) < 40 {
		t.Fatalf("got %d opus frames for 1 s of silence", len(frames))
	}
	rms, _ := analyse(t, frames)
	if rms > 50 {
		t.Fatalf("silence decodes with rms %.0f", rms)
	}
}

func TestAACToOpusDropsWhenQueueFull(t *testing.T) {
	clip := ffmpegAAC(t, 48000, 2, 2, false)
	tr, _, frames, _ := transcodeClip(t, clip, Config{QueueFrames: 1}, 0, 0)
	st := tr.Stats()
	if st.FramesIn != uint64(len(clip.frames)) {
		t.Fatalf("frames in %d, want %d", st.FramesIn, len(clip.frames))
	}
	// Writing 94 frames in a tight loop outruns a 1-frame queue; whatever
	// got through is still transcoded.
	if st.Dropped == 0 {
		t.Fatalf("a 1-frame queue dropped nothing in a tight write loop (stats %+v)", st)
	}
	if len(frames) == 0 {
		t.Fatalf("nothing transcoded (stats %+v)", st)
	}
}

func TestAACToOpusStopsWithStream(t *testing.T) {
	before := runtime.NumGoroutine()
	s := media.NewStream(media.StreamConfig{GigID: "g1"}, nil)
	tr, err := Start(s, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	select {
	case <-tr.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("transcoder still running after the stream ended")
	}
	tr.Close()
	tr.Close()
	waitGoroutines(t, before)
}

func TestAACToOpusBadConfig(t *testing.T) {
	// A config the decoder refuses must not take the stream down: the
	// error is logged and frames are ignored.
	s := media.NewStream(media.StreamConfig{GigID: "g1"}, nil)
	defer s.Close()
	tr, err := Start(s, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: &media.AACConfig{Raw: []byte{0xff, 0xff}, ObjectType: 31}})
	for i := 0; i < 10; i++ {
		_ = s.WriteFrame(&media.Frame{Codec: media.CodecAAC, DTS: time.Duration(i) * 20 * time.Millisecond, Data: bytes.Repeat([]byte{1}, 50)})
	}
	time.Sleep(50 * time.Millisecond)
	if st := tr.Stats(); st.FramesOut != 0 {
		t.Fatalf("stats %+v: opus out of a broken config", st)
	}
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > want {
		t.Fatalf("%d goroutines, want at most %d", n, want)
	}
}

// BenchmarkAACToOpus measures the CPU one stream-second of 44.1 kHz stereo
// AAC costs to decode, resample and encode at 96 kb/s (ms-cpu/stream-s).
// BenchmarkAACToOpus reports the transcoder's CPU per stream-second at the
// default complexity (10) and at 5 (--opus-complexity).
func BenchmarkAACToOpus(b *testing.B) {
	clip := ffmpegAAC(b, 44100, 2, 10, false)
	streamSeconds := float64(len(clip.frames)) * 1024 / 44100
	for _, complexity := range []int{10, 5} {
		b.Run(fmt.Sprintf("complexity=%d", complexity), func(b *testing.B) {
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				c, err := newAACOpusCodec(clip.asc, 96000, complexity)
				if err != nil {
					b.Fatal(err)
				}
				start := benchproc.CPUTotal()
				for _, f := range clip.frames {
					if _, err := c.decode(f); err != nil {
						b.Fatal(err)
					}
					for {
						p, err := c.encode()
						if err != nil {
							b.Fatal(err)
						}
						if p == nil {
							break
						}
					}
				}
				cpu += benchproc.CPUTotal() - start
				c.free()
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N)/streamSeconds, "ms-cpu/stream-s")
		})
	}
}

package media

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu     sync.Mutex
	tracks []*Track
	frames []*Frame
}

func (r *recorder) OnTrack(t *Track) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tracks = append(r.tracks, t)
}

func (r *recorder) OnFrame(f *Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, f)
}

func (r *recorder) dts() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]time.Duration, len(r.frames))
	for i, f := range r.frames {
		out[i] = f.DTS
	}
	return out
}

func video(ms int, key bool) *Frame {
	return &Frame{Codec: CodecH264, DTS: time.Duration(ms) * time.Millisecond, Keyframe: key, Data: make([]byte, 100)}
}

func audio(ms int) *Frame {
	return &Frame{Codec: CodecAAC, DTS: time.Duration(ms) * time.Millisecond, Data: make([]byte, 10)}
}

func TestAttachReplaysGOPFromLastKeyframe(t *testing.T) {
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	s.SetTrack(&Track{Codec: CodecH264, H264: &H264Config{}})
	s.SetTrack(&Track{Codec: CodecAAC, SampleRate: 44100, Channels: 2})
	for _, f := range []*Frame{video(0, true), audio(10), video(33, false), video(66, true), audio(70), video(100, false)} {
		if err := s.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	r := &recorder{}
	detach, err := s.Attach(r, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.tracks) != 2 {
		t.Fatalf("tracks on attach = %d, want 2", len(r.tracks))
	}
	_ = s.WriteFrame(video(133, false))
	got := r.dts()
	want := []time.Duration{66 * time.Millisecond, 70 * time.Millisecond, 100 * time.Millisecond, 133 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("frames = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frames = %v, want %v", got, want)
		}
	}
	if !r.frames[0].Keyframe {
		t.Fatal("first frame a new reader sees must be a keyframe")
	}
	detach()
	detach()
	_ = s.WriteFrame(video(166, false))
	if n := len(r.dts()); n != 4 {
		t.Fatalf("reader got %d frames after detach, want 4", n)
	}
}

func TestGOPCacheOverflowWaitsForNextKeyframe(t *testing.T) {
	s := NewStream(StreamConfig{GigID: "g", GOPMaxBytes: 250}, nil)
	s.SetTrack(&Track{Codec: CodecH264})
	_ = s.WriteFrame(video(0, true))
	_ = s.WriteFrame(video(33, false))
	_ = s.WriteFrame(video(66, false)) // 300 bytes: over the cap
	if n := len(s.GOP()); n != 0 {
		t.Fatalf("GOP after overflow has %d frames, want 0", n)
	}
	_ = s.WriteFrame(video(100, false))
	if n := len(s.GOP()); n != 0 {
		t.Fatalf("GOP resumed before a keyframe: %d frames", n)
	}
	_ = s.WriteFrame(video(133, true))
	if g := s.GOP(); len(g) != 1 || !g[0].Keyframe {
		t.Fatalf("GOP after keyframe = %d frames, want the keyframe", len(g))
	}
}

// ReadGOP shows the cached GOP while no frame can be written: a frame
// written meanwhile waits and is not part of it.
func TestReadGOPExcludesWrites(t *testing.T) {
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	s.SetTrack(&Track{Codec: CodecH264})
	_ = s.WriteFrame(video(0, false))
	_ = s.WriteFrame(video(33, true))
	_ = s.WriteFrame(video(66, false))
	written := make(chan struct{})
	s.ReadGOP(func(gop []*Frame) {
		go func() {
			_ = s.WriteFrame(video(100, false))
			close(written)
		}()
		time.Sleep(20 * time.Millisecond)
		select {
		case <-written:
			t.Error("a frame was written during ReadGOP")
		default:
		}
		if len(gop) != 2 || gop[0].DTS != 33*time.Millisecond || !gop[0].Keyframe {
			t.Errorf("GOP of %d frames, want the keyframe at 33 ms and one more", len(gop))
		}
	})
	<-written
	if n := len(s.GOP()); n != 3 {
		t.Fatalf("GOP of %d frames after the write, want 3", n)
	}
}

func TestNewSequenceHeaderReachesReadersAndResetsGOP(t *testing.T) {
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	s.SetTrack(&Track{Codec: CodecH264, H264: &H264Config{Width: 640}})
	_ = s.WriteFrame(video(0, true))
	r := &recorder{}
	if _, err := s.Attach(r, false); err != nil {
		t.Fatal(err)
	}
	s.SetTrack(&Track{Codec: CodecH264, H264: &H264Config{Width: 1280}})
	if len(r.tracks) != 2 || r.tracks[1].H264.Width != 1280 {
		t.Fatalf("reader did not get the new track: %+v", r.tracks)
	}
	if len(s.Tracks()) != 1 {
		t.Fatalf("tracks = %d, want the video track replaced", len(s.Tracks()))
	}
	if len(s.GOP()) != 0 {
		t.Fatal("GOP coded with old parameters must be dropped")
	}
}

func TestClosedStreamRefusesWritesAndReaders(t *testing.T) {
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	s.Close()
	s.Close()
	if err := s.WriteFrame(video(0, true)); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := s.Attach(&recorder{}, true); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("attach after close: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
}

func TestStatsMeasureBFramesAndLongGOP(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	s := NewStream(StreamConfig{GigID: "g", Source: "rtmp", Now: clock}, nil)
	s.SetTrack(&Track{Codec: CodecH264, H264: &H264Config{ProfileIDC: 100, LevelIDC: 31, Width: 1280, Height: 720}})
	s.SetTrack(&Track{Codec: CodecAAC, SampleRate: 48000, Channels: 2})
	// 2 s at 30 fps, keyframes every 4 s of DTS, one B-frame.
	for i := 0; i < 60; i++ {
		f := video(i*33, i%30 == 0)
		if i%30 == 0 {
			f.DTS = time.Duration(i/30) * 4 * time.Second
		}
		if i == 5 {
			f.CTS = 66 * time.Millisecond
		}
		_ = s.WriteFrame(f)
		now = now.Add(33 * time.Millisecond)
	}
	release := s.AddViewer("flv")
	s.AddViewer("webrtc")
	st := s.Stats()
	if st.Video == nil || st.Video.Profile != "High" || st.Video.Level != "3.1" || st.Video.Width != 1280 {
		t.Fatalf("video stats = %+v", st.Video)
	}
	if !st.Video.BFrames || st.Video.KeyframeInterval != 4 {
		t.Fatalf("bframes=%v keyint=%v", st.Video.BFrames, st.Video.KeyframeInterval)
	}
	if st.Video.FPS < 25 || st.Video.FPS > 35 {
		t.Fatalf("fps = %v, want ~30", st.Video.FPS)
	}
	if st.Viewers["flv"] != 1 || st.Viewers["webrtc"] != 1 || s.Viewers() != 2 {
		t.Fatalf("viewers = %v", st.Viewers)
	}
	release()
	release()
	if s.Viewers() != 1 {
		t.Fatalf("viewers after release = %d", s.Viewers())
	}
}

func TestRegistryRefusesSecondHealthyPublisherAndReplacesStaleOne(t *testing.T) {
	reg := NewRegistry(RegistryConfig{StaleAfter: 50 * time.Millisecond}, nil)
	var events []EventType
	reg.OnEvent(func(ev Event) { events = append(events, ev.Type) })
	first := NewStream(StreamConfig{GigID: "g"}, nil)
	if err := reg.Publish(first); err != nil {
		t.Fatal(err)
	}
	if err := reg.Publish(NewStream(StreamConfig{GigID: "g"}, nil)); !errors.Is(err, ErrAlreadyLive) {
		t.Fatalf("second publisher: %v, want ErrAlreadyLive", err)
	}
	time.Sleep(80 * time.Millisecond)
	second := NewStream(StreamConfig{GigID: "g"}, nil)
	if err := reg.Publish(second); err != nil {
		t.Fatalf("publisher after stale one: %v", err)
	}
	if !first.Closed() {
		t.Fatal("stale stream not closed")
	}
	reg.Unpublish(first) // late cleanup by the old publisher must not end the new one
	if s, ok := reg.Get("g"); !ok || s != second {
		t.Fatal("new stream lost after old publisher's cleanup")
	}
	reg.Unpublish(second)
	if _, ok := reg.Get("g"); ok {
		t.Fatal("gig still live after unpublish")
	}
	want := []EventType{Published, Unpublished, Published, Unpublished}
	if len(events) != len(want) {
		t.Fatalf("events = %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events = %v, want %v", events, want)
		}
	}
}

func TestRegistryGigViewersCountsEachViewerOnce(t *testing.T) {
	reg := NewRegistry(RegistryConfig{}, nil)
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	if err := reg.Publish(s); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for proto, n := range reg.GigViewers("g") {
			out["g/"+proto] = n
		}
		return out
	}
	a := s.AddViewer("webrtc")
	b := s.AddViewer("flv")
	if c := counts(); c["g/webrtc"] != 1 || c["g/flv"] != 1 || s.Viewers() != 2 || !slices.Equal(reg.LiveGigs(), []string{"g"}) {
		t.Fatalf("after two viewers: registry %v, stream %d, live %v", c, s.Viewers(), reg.LiveGigs())
	}
	a()
	a() // release is idempotent, for the registry's view too
	b()
	if c := counts(); c["g/webrtc"] != 0 || c["g/flv"] != 0 || s.Viewers() != 0 {
		t.Fatalf("after release: registry %v, stream %d", c, s.Viewers())
	}
	if n := len(reg.GigViewers("other")); n != 0 {
		t.Fatalf("a gig not live here has %d protocols counted", n)
	}
}

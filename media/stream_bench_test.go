package media

import (
	"testing"
	"time"
)

type countingReader struct{ n int }

func (r *countingReader) OnTrack(*Track) {}
func (r *countingReader) OnFrame(*Frame) { r.n++ }

// BenchmarkWriteFrameFanOut is the writer's cost per frame with 100
// readers attached: the reader list is read once per frame and must not
// allocate.
func BenchmarkWriteFrameFanOut(b *testing.B) {
	s := NewStream(StreamConfig{GigID: "g", GOPMaxBytes: 1 << 30}, nil)
	s.SetTrack(&Track{Codec: CodecAAC, SampleRate: 48000, Channels: 2})
	for range 100 {
		if _, err := s.Attach(&countingReader{}, false); err != nil {
			b.Fatal(err)
		}
	}
	f := &Frame{Codec: CodecAAC, Data: make([]byte, 10)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.DTS = time.Duration(i) * time.Millisecond
		i++
		if err := s.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

package sfu

import (
	"encoding/binary"
	"log/slog"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
)

var (
	benchSPS = []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8}
	benchPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// benchFrame is the RTMP ingest step: the publisher's AVCC into a Frame.
func benchFrame(au []byte) (*media.Frame, error) {
	return media.FrameFromAVCC(au, 4)
}

// benchAU builds an x264-like AVCC access unit: AUD, SEI and one slice of
// sliceLen bytes (an IDR when key), with 4-byte lengths as RTMP carries it.
func benchAU(key bool, sliceLen int) []byte {
	slice := make([]byte, sliceLen)
	for i := range slice {
		slice[i] = byte(i*7 + 3)
	}
	slice[0] = 0x41
	if key {
		slice[0] = 0x65
	}
	var out []byte
	for _, n := range [][]byte{{0x09, 0xf0}, {0x06, 0x05, 0x01, 0x80}, slice} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
	}
	return out
}

// BenchmarkFramePath is one 30 fps GOP of 720p-sized H.264 access units from
// where an RTMP frame enters media (normalize) through the Stream (stats,
// GOP cache) to the WebRTC packetizer: the per-frame work done once per
// stream, whatever the number of viewers. One op is one frame.
func BenchmarkFramePath(b *testing.B) {
	const gop = 60
	aus := make([][]byte, gop)
	for i := range aus {
		if i == 0 {
			aus[i] = benchAU(true, 40_000)
		} else {
			aus[i] = benchAU(false, 9_000)
		}
	}
	cfg, err := media.H264ConfigFromParamSets(benchSPS, benchPPS)
	if err != nil {
		b.Fatal(err)
	}
	s := media.NewStream(media.StreamConfig{GigID: "bench"}, nil)
	s.SetTrack(&media.Track{Codec: media.CodecH264, H264: cfg})
	br := newBroadcaster(s, 1024, 16<<20, slog.New(slog.DiscardHandler))
	if err := br.attach(); err != nil {
		b.Fatal(err)
	}
	defer br.close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		f, err := benchFrame(aus[i%gop])
		if err != nil {
			b.Fatal(err)
		}
		f.DTS = time.Duration(i) * time.Second / 30
		if err := s.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

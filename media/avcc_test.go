package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// avcc joins NAL units with lengthSize-byte prefixes.
func avcc(lengthSize int, nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		var p [4]byte
		binary.BigEndian.PutUint32(p[:], uint32(len(n)))
		b = append(b, p[4-lengthSize:]...)
		b = append(b, n...)
	}
	return b
}

var (
	nalAUD    = []byte{0x09, 0xf0}
	nalSEI    = []byte{0x06, 0x05, 0x01, 0x80}
	nalIDR    = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
	nalSlice  = []byte{0x41, 0x9a, 0x02}
	nalFiller = []byte{0x0c, 0xff, 0xff, 0x80}
	nalSPS    = []byte{0x67, 0x42, 0xc0, 0x1e}
	nalPPS    = []byte{0x68, 0xce, 0x3c, 0x80}
)

var avccTable = []struct {
	name       string
	in         []byte
	lengthSize int
	want       [][]byte // the NAL units kept; none: no frame
	key, sps   bool
}{
	{"4-byte idr with aud and sei", avcc(4, nalAUD, nalSEI, nalIDR), 4, [][]byte{nalSEI, nalIDR}, true, false},
	{"2-byte p slice", avcc(2, nalSlice), 2, [][]byte{nalSlice}, false, false},
	{"1-byte idr", avcc(1, nalIDR), 1, [][]byte{nalIDR}, true, false},
	{"in-band parameter sets", avcc(4, nalAUD, nalSPS, nalPPS, nalIDR), 4, [][]byte{nalSPS, nalPPS, nalIDR}, true, true},
	{"filler dropped", avcc(4, nalSlice, nalFiller), 4, [][]byte{nalSlice}, false, false},
	{"zero-length nal dropped", avcc(4, nil, nalSlice, nil), 4, [][]byte{nalSlice}, false, false},
	{"only an aud", avcc(4, nalAUD), 4, nil, false, false},
	{"empty", nil, 4, nil, false, false},
}

// checkSplit fails unless f's NALUs are exactly the NAL units of its Data,
// sub-slices of it, and its flags match them.
func checkSplit(t *testing.T, f *Frame) {
	t.Helper()
	rest := f.Data
	idr, sps := false, false
	for i, n := range f.NALUs {
		if len(rest) < 4+len(n) || int(binary.BigEndian.Uint32(rest)) != len(n) || &rest[4] != &n[0] {
			t.Fatalf("nal %d (%x) is not the next unit of Data", i, n)
		}
		if k := NALUType(n); k == NALUTypeAUD || k == NALUTypeFiller {
			t.Fatalf("nal %d of type %d kept", i, k)
		}
		idr = idr || NALUType(n) == NALUTypeIDR
		sps = sps || NALUType(n) == NALUTypeSPS
		rest = rest[4+len(n):]
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes of Data after the last nal", len(rest))
	}
	if f.Keyframe != idr || f.HasSPS != sps {
		t.Fatalf("keyframe=%v has_sps=%v, want %v %v", f.Keyframe, f.HasSPS, idr, sps)
	}
}

func TestFrameFromAVCC(t *testing.T) {
	for _, tc := range avccTable {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]byte(nil), tc.in...)
			f, err := FrameFromAVCC(in, tc.lengthSize)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if f != nil {
					t.Fatalf("got a frame %x, want none", f.Data)
				}
				return
			}
			want := avcc(4, tc.want...)
			if f.Codec != CodecH264 || !bytes.Equal(f.Data, want) || f.Keyframe != tc.key || f.HasSPS != tc.sps {
				t.Fatalf("got %v %x key=%v sps=%v, want %x key=%v sps=%v", f.Codec, f.Data, f.Keyframe, f.HasSPS, want, tc.key, tc.sps)
			}
			checkSplit(t, f)
			for i := range in {
				in[i] = 0xee
			}
			if !bytes.Equal(f.Data, want) {
				t.Fatal("output aliases the input buffer")
			}
		})
	}
}

// TestWriteFrameSplitsH264: a frame written with Data only (WHIP) is split
// by the Stream before readers see it.
func TestWriteFrameSplitsH264(t *testing.T) {
	for _, tc := range avccTable {
		if tc.lengthSize != 4 || tc.want == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			s := NewStream(StreamConfig{}, nil)
			f := &Frame{Codec: CodecH264, Data: avcc(4, tc.want...)}
			if err := s.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
			checkSplit(t, f)
		})
	}
	t.Run("malformed keeps the writer's mark", func(t *testing.T) {
		s := NewStream(StreamConfig{}, nil)
		f := &Frame{Codec: CodecH264, Keyframe: true, Data: []byte{0, 0, 0, 9, 0x65}}
		if err := s.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if f.NALUs != nil || !f.Keyframe {
			t.Fatalf("nalus=%x keyframe=%v", f.NALUs, f.Keyframe)
		}
	})
}

func TestFrameFromAVCCRejects(t *testing.T) {
	cases := map[string]struct {
		in []byte
		ls int
	}{
		"length beyond data": {[]byte{0, 0, 0, 9, 0x65}, 4},
		"truncated prefix":   {append(avcc(4, nalSlice), 0, 0), 4},
		"length size 3":      {avcc(4, nalSlice), 3},
		"length size 0":      {avcc(4, nalSlice), 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := FrameFromAVCC(tc.in, tc.ls); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzFrameFromAVCC(f *testing.F) {
	for _, tc := range avccTable {
		f.Add(tc.in, tc.lengthSize)
	}
	f.Fuzz(func(t *testing.T, in []byte, ls int) {
		fr, err := FrameFromAVCC(in, ls)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if fr == nil {
			return
		}
		if len(fr.NALUs) == 0 {
			t.Fatal("frame without nal units")
		}
		checkSplit(t, fr)
	})
}

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
	nalAUD   = []byte{0x09, 0xf0}
	nalSEI   = []byte{0x06, 0x05, 0x01, 0x80}
	nalIDR   = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
	nalSlice = []byte{0x41, 0x9a, 0x02}
)

var avccTable = []struct {
	name       string
	in         []byte
	lengthSize int
	want       []byte
	key        bool
}{
	{"4-byte idr with aud and sei", avcc(4, nalAUD, nalSEI, nalIDR), 4, avcc(4, nalSEI, nalIDR), true},
	{"2-byte p slice", avcc(2, nalSlice), 2, avcc(4, nalSlice), false},
	{"1-byte idr", avcc(1, nalIDR), 1, avcc(4, nalIDR), true},
	{"zero-length nal dropped", avcc(4, nil, nalSlice, nil), 4, avcc(4, nalSlice), false},
	{"only an aud", avcc(4, nalAUD), 4, []byte{}, false},
	{"empty", nil, 4, []byte{}, false},
}

func TestNormalizeAVCC(t *testing.T) {
	for _, tc := range avccTable {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]byte(nil), tc.in...)
			out, key, err := NormalizeAVCC(in, tc.lengthSize)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, tc.want) || key != tc.key {
				t.Fatalf("got %x key=%v, want %x key=%v", out, key, tc.want, tc.key)
			}
			for i := range in {
				in[i] = 0xee
			}
			if len(tc.want) > 0 && !bytes.Equal(out, tc.want) {
				t.Fatal("output aliases the input buffer")
			}
		})
	}
}

func TestNormalizeAVCCRejects(t *testing.T) {
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
			if _, _, err := NormalizeAVCC(tc.in, tc.ls); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzNormalizeAVCC(f *testing.F) {
	for _, tc := range avccTable {
		f.Add(tc.in, tc.lengthSize)
	}
	f.Fuzz(func(t *testing.T, in []byte, ls int) {
		out, key, err := NormalizeAVCC(in, ls)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		sawIDR := false
		if err := ForEachNALU(out, func(n []byte) bool {
			if len(n) == 0 || NALUType(n) == NALUTypeAUD {
				t.Fatalf("output keeps nal %x", n)
			}
			sawIDR = sawIDR || NALUType(n) == NALUTypeIDR
			return true
		}); err != nil {
			t.Fatalf("output is not 4-byte AVCC: %v", err)
		}
		if sawIDR != key {
			t.Fatalf("keyframe = %v, idr present = %v", key, sawIDR)
		}
	})
}

package media

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
)

// SPS/PPS produced by ffmpeg 5.1 + libx264 with the settings in the names.
var spsTable = []struct {
	name          string
	sps, pps      string
	width, height int
	profile       byte
}{
	{"ultrafast baseline 640x360", "6742c01eda0280bfe5c044000003000400000300f23c58ba80", "68ce0fc8", 640, 360, 66},
	{"baseline 320x240", "6742c00dd90141fb0110000003001000000303c0f142a480", "68cb83cb20", 320, 240, 66},
	{"1080p cropped from 1088", "6742c028da01e0089f970110000003001000000303c0f1832a", "68ce0fc8", 1920, 1080, 66},
	{"high with cqm=jvt scaling lists", "6764001facd9405005bb0110000003001000000303c0f1831960", "68ebe3cb3002c0", 1280, 720, 100},
	{"high 4:4:4", "67f4000d919b282c12d80880000003008000001e078a14cb", "68ebe3c44844", 352, 288, 244},
	{"interlaced 576i", "6764001facd940b424d80880000003008000001e0f8b16cb", "68fba3cb22c0", 720, 576, 100},
	{"odd size 642x362", "6764001eacd940a42fe224c044000003000400000300f03c58b658", "68ebe3cb22c0", 642, 362, 100},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// avcRecord builds an AVCDecoderConfigurationRecord around one SPS and PPS.
func avcRecord(sps, pps []byte, lengthSize int) []byte {
	b := []byte{1, sps[1], sps[2], sps[3], 0xfc | byte(lengthSize-1), 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...)
}

func TestParseAVCDecoderConfig(t *testing.T) {
	for _, tc := range spsTable {
		t.Run(tc.name, func(t *testing.T) {
			sps, pps := mustHex(t, tc.sps), mustHex(t, tc.pps)
			rec := avcRecord(sps, pps, 4)
			c, err := ParseAVCDecoderConfig(rec)
			if err != nil {
				t.Fatal(err)
			}
			if c.Width != tc.width || c.Height != tc.height {
				t.Fatalf("size = %dx%d, want %dx%d", c.Width, c.Height, tc.width, tc.height)
			}
			if c.ProfileIDC != tc.profile || c.LengthSize != 4 || len(c.SPS) != 1 || len(c.PPS) != 1 {
				t.Fatalf("config = %+v", c)
			}
			if hex.EncodeToString(c.PPS[0]) != tc.pps {
				t.Fatalf("pps = %x", c.PPS[0])
			}
			rec[10] ^= 0xff // the config must not alias the input
			if hex.EncodeToString(c.SPS[0]) != tc.sps || c.Record[10] == rec[10] {
				t.Fatal("config aliases the caller's buffer")
			}
		})
	}
}

func TestParseAVCDecoderConfigRejects(t *testing.T) {
	sps, pps := mustHex(t, spsTable[0].sps), mustHex(t, spsTable[0].pps)
	good := avcRecord(sps, pps, 4)
	cases := map[string][]byte{
		"empty":          nil,
		"short":          good[:6],
		"version 0":      append([]byte{0}, good[1:]...),
		"length size 3":  avcRecord(sps, pps, 3),
		"sps truncated":  good[:12],
		"pps missing":    good[:8+len(sps)],
		"no sps":         {1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 1, 0, 4, 0x68, 0xce, 0x0f, 0xc8},
		"pps is not pps": avcRecord(sps, sps, 4),
		"sps garbage":    avcRecord([]byte{0x67, 0x42, 0xc0, 0x1e, 0, 0, 0, 0}, pps, 4),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseAVCDecoderConfig(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParseAVCDecoderConfig(f *testing.F) {
	for _, tc := range spsTable {
		f.Add(avcRecord(mustHex(f, tc.sps), mustHex(f, tc.pps), 4))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCDecoderConfig(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if c.Width <= 0 || c.Height <= 0 || len(c.SPS) == 0 || len(c.PPS) == 0 {
			t.Fatalf("accepted config without a picture: %+v", c)
		}
	})
}

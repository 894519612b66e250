package media

import (
	"errors"
	"testing"
)

var ascTable = []struct {
	name       string
	hex        string
	objectType int
	rate       int
	channels   int
}{
	{"ffmpeg aac 48k stereo", "1190", 2, 48000, 2},
	{"aac-lc 44.1k stereo", "1210", 2, 44100, 2},
	{"aac-lc 44.1k stereo with ffmpeg padding", "121056e500", 2, 44100, 2},
	{"aac-lc 22.05k mono", "1388", 2, 22050, 1},
	{"he-aac explicit sbr 24k core", "2b118800", 5, 24000, 2},
	{"escaped object type 42", "f94640", 42, 48000, 2},
	{"explicit 24-bit sample rate", "17805dc010", 2, 48000, 2},
	{"7.1 channel config 7", "11b8", 2, 48000, 8},
}

func TestParseAudioSpecificConfig(t *testing.T) {
	for _, tc := range ascTable {
		t.Run(tc.name, func(t *testing.T) {
			b := mustHex(t, tc.hex)
			c, err := ParseAudioSpecificConfig(b)
			if err != nil {
				t.Fatal(err)
			}
			if c.ObjectType != tc.objectType || c.SampleRate != tc.rate || c.Channels != tc.channels {
				t.Fatalf("config = %+v, want type %d %d Hz %d ch", c, tc.objectType, tc.rate, tc.channels)
			}
			if string(c.Raw) != string(b) {
				t.Fatalf("raw = %x, want %x kept whole", c.Raw, b)
			}
			b[0] ^= 0xff
			if c.Raw[0] == b[0] {
				t.Fatal("Raw aliases the caller's buffer")
			}
		})
	}
}

func TestParseAudioSpecificConfigRejects(t *testing.T) {
	cases := map[string]string{
		"empty":               "",
		"one byte":            "12",
		"object type 0":       "0190",
		"reserved rate index": "1690", // index 13
		"reserved channels":   "11c8", // config 9
		"explicit rate cut":   "17805d",
		"sbr without core":    "2b11",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseAudioSpecificConfig(mustHex(t, h)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParseAudioSpecificConfig(f *testing.F) {
	for _, tc := range ascTable {
		f.Add(mustHex(f, tc.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAudioSpecificConfig(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if c.SampleRate <= 0 || c.ObjectType <= 0 || len(c.Raw) != len(b) {
			t.Fatalf("accepted %x as %+v", b, c)
		}
	})
}

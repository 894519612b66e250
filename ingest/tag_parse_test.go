package ingest

import (
	"errors"
	"testing"
	"time"
)

var videoTagTable = []struct {
	name    string
	in      []byte
	want    videoTag
	wantErr error
}{
	{"avc sequence header", []byte{0x17, 0, 0, 0, 0, 1, 2}, videoTag{FrameType: 1, CodecID: 7, PacketType: 0, Data: []byte{1, 2}}, nil},
	{"avc keyframe cts 40", []byte{0x17, 1, 0, 0, 40, 0, 0, 0, 1, 0x65}, videoTag{FrameType: 1, CodecID: 7, PacketType: 1, CTS: 40, Data: []byte{0, 0, 0, 1, 0x65}}, nil},
	{"avc inter frame negative cts", []byte{0x27, 1, 0xff, 0xff, 0xd8, 9}, videoTag{FrameType: 2, CodecID: 7, PacketType: 1, CTS: -40, Data: []byte{9}}, nil},
	{"end of sequence", []byte{0x17, 2, 0, 0, 0}, videoTag{FrameType: 1, CodecID: 7, PacketType: 2, Data: []byte{}}, nil},
	{"command frame", []byte{0x57, 0}, videoTag{FrameType: 5, CodecID: 7}, nil},
	{"sorenson h263", []byte{0x22, 0, 0}, videoTag{}, ErrUnsupportedCodec},
	{"enhanced rtmp hevc", []byte{0x90, 'h', 'v', 'c', '1'}, videoTag{}, ErrUnsupportedCodec},
	{"empty", nil, videoTag{}, ErrMalformedTag},
	{"avc too short", []byte{0x17, 1, 0}, videoTag{}, ErrMalformedTag},
	{"avc packet type 3", []byte{0x17, 3, 0, 0, 0}, videoTag{}, ErrMalformedTag},
}

func TestParseVideoTag(t *testing.T) {
	for _, tc := range videoTagTable {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVideoTag(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.FrameType != tc.want.FrameType || got.CodecID != tc.want.CodecID || got.PacketType != tc.want.PacketType ||
				got.CTS != tc.want.CTS || string(got.Data) != string(tc.want.Data) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

var audioTagTable = []struct {
	name    string
	in      []byte
	want    audioTag
	wantErr error
}{
	// SoundRate bits say 44 kHz (0xaf) although the stream is 48 kHz: ignored.
	{"aac sequence header", []byte{0xaf, 0, 0x11, 0x90}, audioTag{Format: 10, PacketType: 0, Data: []byte{0x11, 0x90}}, nil},
	{"aac raw", []byte{0xae, 1, 0x21, 0x10}, audioTag{Format: 10, PacketType: 1, Data: []byte{0x21, 0x10}}, nil},
	{"mp3", []byte{0x2f, 0xff}, audioTag{}, ErrUnsupportedCodec},
	{"empty", nil, audioTag{}, ErrMalformedTag},
	{"aac without packet type", []byte{0xaf}, audioTag{}, ErrMalformedTag},
	{"aac packet type 2", []byte{0xaf, 2}, audioTag{}, ErrMalformedTag},
}

func TestParseAudioTag(t *testing.T) {
	for _, tc := range audioTagTable {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAudioTag(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tc.want.Format || got.PacketType != tc.want.PacketType || string(got.Data) != string(tc.want.Data) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseVideoTag(f *testing.F) {
	for _, tc := range videoTagTable {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := parseVideoTag(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTag) && !errors.Is(err, ErrUnsupportedCodec) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if tag.CodecID != videoCodecAVC || tag.CTS < -(1<<23) || tag.CTS >= 1<<23 || len(tag.Data) > len(b) {
			t.Fatalf("accepted %x as %+v", b, tag)
		}
	})
}

func FuzzParseAudioTag(f *testing.F) {
	for _, tc := range audioTagTable {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := parseAudioTag(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTag) && !errors.Is(err, ErrUnsupportedCodec) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if tag.Format != audioFormatAAC || len(tag.Data) != len(b)-2 {
			t.Fatalf("accepted %x as %+v", b, tag)
		}
	})
}

func TestTimelineUnwrapsAndRebases(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name string
		in   []uint32
		want []time.Duration
	}{
		{"starts at zero", []uint32{5000, 5033, 5066}, []time.Duration{0, 33 * ms, 66 * ms}},
		{"audio slightly behind video", []uint32{1000, 1033, 1021, 1066}, []time.Duration{0, 33 * ms, 21 * ms, 66 * ms}},
		{"32-bit wrap", []uint32{0xffffffe0, 0xfffffff0, 0x10, 0x30}, []time.Duration{0, 16 * ms, 48 * ms, 80 * ms}},
		{"past extended timestamp threshold", []uint32{0xfffff0, 0x1000010}, []time.Duration{0, 32 * ms}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tl timeline
			for i, ts := range tc.in {
				if got := tl.at(ts); got != tc.want[i] {
					t.Fatalf("at(%#x) = %v, want %v", ts, got, tc.want[i])
				}
			}
		})
	}
}

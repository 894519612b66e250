//go:build cgo

package transcode

import "testing"

// FuzzAACDecode feeds publisher-controlled AAC access units to the decoder
// and encoder: nothing may crash, whatever the bytes.
func FuzzAACDecode(f *testing.F) {
	clip := ffmpegAAC(f, 44100, 2, 0.2, false)
	for _, fr := range clip.frames[:4] {
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xf1, 0x50, 0x80})
	f.Fuzz(func(t *testing.T, au []byte) {
		c, err := newAACOpusCodec(clip.asc, 96000, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer c.free()
		if _, err := c.decode(au); err != nil {
			return
		}
		for i := 0; i < 10; i++ {
			p, err := c.encode()
			if err != nil {
				t.Fatal(err)
			}
			if p == nil {
				break
			}
		}
	})
}

// FuzzOpusToAAC feeds publisher-controlled Opus packets (WHIP) to the
// decoder and AAC encoder: nothing may crash, whatever the bytes.
func FuzzOpusToAAC(f *testing.F) {
	for _, p := range ffmpegOpus(f, 0.1) {
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{0xfc, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		c, err := newOpusAACCodec(64000)
		if err != nil {
			t.Fatal(err)
		}
		defer c.free()
		for i := 0; i < 3; i++ {
			if _, err := c.decode(pkt); err != nil {
				return
			}
		}
		for {
			au, _, err := c.encode()
			if err != nil {
				t.Fatal(err)
			}
			if au == nil {
				break
			}
		}
	})
}

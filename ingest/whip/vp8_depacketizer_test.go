package whip

import (
	"bytes"
	"testing"

	"github.com/pion/rtp/codecs"
)

// vp8Frame is a frame with the given keyframe bit (P=0 for a keyframe) and
// a recognisable body.
func vp8Frame(key bool, n int) []byte {
	f := bytes.Repeat([]byte{0x5a}, n)
	f[0] = 0x01
	if key {
		f[0] = 0x00
	}
	return f
}

func TestVP8DepacketizerRoundTrip(t *testing.T) {
	for _, pictureID := range []bool{false, true} {
		pay := codecs.VP8Payloader{EnablePictureID: pictureID}
		key, delta := vp8Frame(true, 3000), vp8Frame(false, 700)
		kp, dp := pay.Payload(1200, key), pay.Payload(1200, delta)
		var d vp8Depacketizer
		seq := uint16(65530) // wraps inside the keyframe
		var got []*accessUnit
		for _, fr := range []struct {
			pkts [][]byte
			ts   uint32
		}{{kp, 3000}, {dp, 6000}} {
			for i, p := range fr.pkts {
				if i == 0 && !vp8Keyframe(p) == (fr.ts == 3000) {
					t.Fatalf("picture ID %v: vp8Keyframe of the first packet of ts %d = %v", pictureID, fr.ts, vp8Keyframe(p))
				}
				f, lost := d.push(seq, fr.ts, i == len(fr.pkts)-1, p)
				seq++
				if lost {
					t.Fatalf("picture ID %v: packet %d reported a loss", pictureID, i)
				}
				if f != nil {
					got = append(got, f)
				}
			}
		}
		if len(got) != 2 || !got[0].key || got[1].key || !bytes.Equal(got[0].data, key) || !bytes.Equal(got[1].data, delta) ||
			got[0].ts != 3000 || got[1].ts != 6000 {
			t.Fatalf("picture ID %v: frames %+v, want the keyframe then the delta frame, byte for byte", pictureID, got)
		}
	}

	// A gap drops the frame and reports the loss; joining mid-frame drops
	// only the partial frame.
	var pay codecs.VP8Payloader
	pkts := pay.Payload(1200, vp8Frame(true, 3000))
	var d vp8Depacketizer
	lostSeen := false
	for i, p := range pkts {
		if i == 1 {
			continue
		}
		f, lost := d.push(uint16(10+i), 90, i == len(pkts)-1, p)
		lostSeen = lostSeen || lost
		if f != nil {
			t.Fatal("a frame with a hole was emitted")
		}
	}
	if !lostSeen {
		t.Fatal("no loss reported")
	}
	var mid vp8Depacketizer
	for i, p := range pkts[1:] {
		if f, _ := mid.push(uint16(i), 90, i == len(pkts)-2, p); f != nil {
			t.Fatal("a frame without its start was emitted")
		}
	}
	next := pay.Payload(1200, vp8Frame(false, 100))
	if f, _ := mid.push(uint16(len(pkts)-1), 180, true, next[0]); f == nil || f.key {
		t.Fatalf("the next whole frame after a mid-frame join = %+v", f)
	}
}

// FuzzVP8Depacketizer feeds publisher-controlled VP8 RTP payloads (WHIP):
// nothing may panic and no frame is empty.
func FuzzVP8Depacketizer(f *testing.F) {
	pay := codecs.VP8Payloader{EnablePictureID: true}
	for _, p := range pay.Payload(200, vp8Frame(true, 500)) {
		f.Add(p, uint16(1), true)
	}
	f.Add([]byte{0x90, 0x80, 0x81}, uint16(2), true)
	f.Add([]byte{0x90, 0xf0, 0x01, 0x02, 0x03}, uint16(3), false)
	f.Add([]byte{0x10}, uint16(4), true)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, marker bool) {
		_ = vp8Keyframe(payload)
		var d vp8Depacketizer
		for i := 0; i < 3; i++ {
			if fr, _ := d.push(seq+uint16(i), 90*uint32(i/2), marker || i == 2, payload); fr != nil && len(fr.data) == 0 {
				t.Fatal("empty frame")
			}
		}
	})
}

func TestVP8KeyframeSize(t *testing.T) {
	// Frame tag (keyframe, version 0, shown), start code, 1280 with scale
	// bits 01 set, 720.
	key := []byte{0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x00, 0x45, 0xd0, 0x02, 0xff}
	if w, h, ok := vp8KeyframeSize(key); !ok || w != 1280 || h != 720 {
		t.Fatalf("size = %dx%d %v, want 1280x720", w, h, ok)
	}
	inter := append([]byte{key[0] | 0x01}, key[1:]...)
	for name, f := range map[string][]byte{"interframe": inter, "short": key[:9], "no start code": append([]byte{0x50, 0, 0, 0x9d, 0x01, 0x2b}, key[6:]...)} {
		if _, _, ok := vp8KeyframeSize(f); ok {
			t.Errorf("%s: size reported", name)
		}
	}
}

package whip

import (
	"bytes"
	"testing"

	"github.com/pion/rtp/codecs"
)

// annexB joins NAL units with start codes.
func annexB(nalus ...[]byte) []byte {
	var out []byte
	for _, n := range nalus {
		out = append(out, 0, 0, 0, 1)
		out = append(out, n...)
	}
	return out
}

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

func TestH264DepacketizerRoundTrip(t *testing.T) {
	idr := append([]byte{0x65}, bytes.Repeat([]byte{0xab}, 3000)...)
	aud := []byte{0x09, 0xf0}
	var pay codecs.H264Payloader
	pkts := pay.Payload(1200, annexB(aud, testSPS, testPPS, idr))
	var d h264Depacketizer
	var au *accessUnit
	for i, p := range pkts {
		got, lost := d.push(uint16(100+i), 9000, i == len(pkts)-1, p)
		if lost {
			t.Fatalf("packet %d reported a loss", i)
		}
		if got != nil {
			au = got
		}
	}
	if au == nil || !au.key {
		t.Fatalf("access unit %+v, want a keyframe", au)
	}
	want := []byte{}
	for _, n := range [][]byte{testSPS, testPPS, idr} {
		want = append(want, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
		want = append(want, n...)
	}
	if !bytes.Equal(au.data, want) {
		t.Fatalf("AVCC %d bytes, want %d (AUD dropped, SPS PPS IDR)", len(au.data), len(want))
	}
	cfg, ok := d.paramSetsChanged()
	if !ok || cfg.Width == 0 {
		t.Fatalf("config %+v from the in-band SPS", cfg)
	}
	if !h264Keyframe(pkts[0]) {
		t.Fatal("the STAP-A with SPS is not a keyframe start")
	}

	// A gap drops the unit and reports the loss.
	var d2 h264Depacketizer
	lostSeen := false
	for i, p := range pkts {
		if i == 1 {
			continue
		}
		got, lost := d2.push(uint16(100+i), 9000, i == len(pkts)-1, p)
		lostSeen = lostSeen || lost
		if got != nil {
			t.Fatal("an access unit with a hole was emitted")
		}
	}
	if !lostSeen {
		t.Fatal("no loss reported")
	}
}

// FuzzH264Depacketizer feeds publisher-controlled RTP payloads (WHIP) to
// the depacketizer and the keyframe checks: nothing may panic, and what
// comes out is well-formed AVCC.
func FuzzH264Depacketizer(f *testing.F) {
	var pay codecs.H264Payloader
	for _, p := range pay.Payload(200, annexB(testSPS, testPPS, append([]byte{0x65}, bytes.Repeat([]byte{1}, 500)...))) {
		f.Add(p, uint16(1), true)
	}
	f.Add([]byte{0x78, 0x00, 0x05}, uint16(2), false)
	f.Add([]byte{0x7c, 0x45}, uint16(3), true)
	f.Add([]byte{0x90, 0x80, 0x01, 0x10}, uint16(4), false)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, marker bool) {
		_ = h264Keyframe(payload)
		_ = vp8Keyframe(payload)
		var d h264Depacketizer
		for i := 0; i < 3; i++ {
			au, _ := d.push(seq+uint16(i), 90, marker || i == 2, payload)
			if au == nil {
				continue
			}
			data := au.data
			for len(data) > 0 {
				if len(data) < 4 {
					t.Fatalf("truncated length prefix")
				}
				n := int(data[0])<<24 | int(data[1])<<16 | int(data[2])<<8 | int(data[3])
				if n > len(data)-4 {
					t.Fatalf("nal of %d bytes with %d left", n, len(data)-4)
				}
				data = data[4+n:]
			}
		}
		_, _ = d.paramSetsChanged()
	})
}

package sfu

import (
	"bytes"
	"testing"

	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/rtp/codecs"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// annexB joins NAL units with 4-byte start codes (pion's payloader input).
func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(append(b, 0, 0, 0, 1), n...)
	}
	return b
}

// TestH264PackerMatchesPion: packing the split NAL units gives the payloads
// pion's payloader gave for the same access unit in Annex-B (what the
// broadcaster sent before frames carried their NAL units; WHIP ingest's
// depacketizer is tested against pion's payloader in ingest/whip).
func TestH264PackerMatchesPion(t *testing.T) {
	big := func(typ byte, n int) []byte {
		b := bytes.Repeat([]byte{0x5a}, n)
		b[0] = typ
		return b
	}
	sei := []byte{0x06, 0x05, 0x01, 0x80}
	cases := map[string][][]byte{
		"sps pps idr":         {testSPS, testPPS, big(0x65, 3000)},
		"sei and p slice":     {sei, big(0x41, 900)},
		"slice of mtu":        {big(0x41, rtc.RTPMTU)},
		"slice of mtu plus 1": {big(0x41, rtc.RTPMTU+1)},
		"fragment boundary":   {big(0x41, 2*(rtc.RTPMTU-2)+1)},
		"two slices":          {big(0x65, 5000), big(0x65, 70)},
	}
	for name, nalus := range cases {
		t.Run(name, func(t *testing.T) {
			var p h264Packer
			buf, ends := p.pack(nalus, rtc.RTPMTU)
			var got [][]byte
			start := 0
			for _, end := range ends {
				got = append(got, buf[start:end])
				start = end
			}
			var pay codecs.H264Payloader
			want := pay.Payload(rtc.RTPMTU, annexB(nalus...))
			if len(got) != len(want) {
				t.Fatalf("%d payloads, pion gives %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("payload %d: %x..., pion %x...", i, got[i][:min(8, len(got[i]))], want[i][:min(8, len(want[i]))])
				}
				if len(got[i]) > rtc.RTPMTU {
					t.Fatalf("payload %d of %d bytes", i, len(got[i]))
				}
			}
		})
	}
}

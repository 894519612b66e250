package sfu

import (
	"bytes"
	"testing"

	"github.com/pion/rtp/codecs"
)

// TestH264PackerMatchesPion: packing the split NAL units gives the payloads
// pion's payloader gave for the same access unit in Annex-B (what the
// broadcaster sent before frames carried their NAL units), and the
// depacketizer gets the access unit back.
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
		"slice of mtu":        {big(0x41, rtpMTU)},
		"slice of mtu plus 1": {big(0x41, rtpMTU+1)},
		"fragment boundary":   {big(0x41, 2*(rtpMTU-2)+1)},
		"two slices":          {big(0x65, 5000), big(0x65, 70)},
	}
	for name, nalus := range cases {
		t.Run(name, func(t *testing.T) {
			var p h264Packer
			buf, ends := p.pack(nalus, rtpMTU)
			var got [][]byte
			start := 0
			for _, end := range ends {
				got = append(got, buf[start:end])
				start = end
			}
			var pay codecs.H264Payloader
			want := pay.Payload(rtpMTU, annexB(nalus...))
			if len(got) != len(want) {
				t.Fatalf("%d payloads, pion gives %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("payload %d: %x..., pion %x...", i, got[i][:min(8, len(got[i]))], want[i][:min(8, len(want[i]))])
				}
				if len(got[i]) > rtpMTU {
					t.Fatalf("payload %d of %d bytes", i, len(got[i]))
				}
			}
			var d h264Depacketizer
			var au *accessUnit
			for i, pl := range got {
				if a, lost := d.push(uint16(i), 1, i == len(got)-1, pl); lost {
					t.Fatalf("packet %d lost", i)
				} else if a != nil {
					au = a
				}
			}
			var avcc []byte
			for _, n := range nalus {
				avcc = append(avcc, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
				avcc = append(avcc, n...)
			}
			if au == nil || !bytes.Equal(au.data, avcc) {
				t.Fatal("depacketized access unit differs")
			}
		})
	}
}

package sfu

import (
	"encoding/binary"

	"github.com/bookmygig/bookmygig/media"
)

// h264Packer cuts an access unit's NAL units (media.Frame.NALUs, already
// split and without AUD or filler data) into RTP payloads, RFC 6184
// packetization-mode 1: a run of parameter sets goes in one STAP-A, a NAL
// unit that fits goes alone, a larger one in FU-A fragments. It reads the
// index media built at ingest, so the frame's bytes are copied once, into the
// payloads, and never scanned for start codes.
type h264Packer struct {
	// ends is scratch: the end offset of every payload in the frame's buffer.
	ends []int
}

// pack returns one new buffer holding all the payloads of nalus back to
// back and the end offset of each. The buffer is not reused: the ring keeps
// the packets (GOP catch-up, NACK history). ends is valid until the next
// call.
func (p *h264Packer) pack(nalus [][]byte, mtu int) (buf []byte, ends []int) {
	total := 0
	for _, n := range nalus {
		total += len(n)
	}
	// Room for a STAP-A header and its lengths, and two header bytes per
	// FU-A fragment: append never has to grow buf.
	buf = make([]byte, 0, total+1+4*len(nalus)+2*(total/(mtu-2)))
	ends = p.ends[:0]
	for i := 0; i < len(nalus); {
		if j := stapRun(nalus[i:], mtu); j >= 2 {
			buf = append(buf, 0x60|media.NALUTypeSTAPA) // NRI 3, STAP-A
			for _, n := range nalus[i : i+j] {
				buf = binary.BigEndian.AppendUint16(buf, uint16(len(n)))
				buf = append(buf, n...)
			}
			ends = append(ends, len(buf))
			i += j
			continue
		}
		n := nalus[i]
		i++
		if len(n) <= mtu {
			buf = append(buf, n...)
			ends = append(ends, len(buf))
			continue
		}
		indicator, typ := n[0]&0xe0|media.NALUTypeFUA, n[0]&0x1f
		for rest, first := n[1:], true; len(rest) > 0; first = false {
			k := min(mtu-2, len(rest))
			hdr := typ
			if first {
				hdr |= 0x80
			}
			if k == len(rest) {
				hdr |= 0x40
			}
			buf = append(buf, indicator, hdr)
			buf = append(buf, rest[:k]...)
			ends = append(ends, len(buf))
			rest = rest[k:]
		}
	}
	p.ends = ends
	return buf, ends
}

// stapRun counts the parameter sets at the start of nalus that fit in one
// STAP-A of at most mtu bytes.
func stapRun(nalus [][]byte, mtu int) (count int) {
	size := 1
	for _, n := range nalus {
		t := media.NALUType(n)
		if t != media.NALUTypeSPS && t != media.NALUTypePPS || size+2+len(n) > mtu {
			break
		}
		size += 2 + len(n)
		count++
	}
	return count
}

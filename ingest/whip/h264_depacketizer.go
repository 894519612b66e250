package whip

import (
	"encoding/binary"

	"github.com/bookmygig/bookmygig/media"
)

// maxAccessUnit bounds one depacketized access unit; a publisher cannot make
// the server buffer more than this for a frame.
const maxAccessUnit = 4 << 20

// h264Depacketizer turns a WHIP publisher's H.264 RTP packets (single NAL
// units, STAP-A, FU-A; RFC 6184 packetization-mode 1) into access units in
// the form frames have inside a media.Stream: AVCC with 4-byte lengths, AUD
// removed. An access unit ends at the marker bit (or when the timestamp
// changes); one with a sequence gap is dropped whole, and the caller asks
// the publisher for a keyframe.
type h264Depacketizer struct {
	seq  rtpSequence
	au   []byte
	fu   []byte // the NAL unit being reassembled from FU-A fragments
	inFU bool
	key  bool
	// sps and pps are the newest parameter sets seen (copies).
	sps, pps []byte
	psNew    bool
}

// accessUnit is one depacketized frame; data is the caller's to keep.
type accessUnit struct {
	data []byte
	ts   uint32
	key  bool
}

// push adds one packet. It returns a complete access unit when p ends one,
// and lost when a gap was found (an access unit was or will be dropped).
func (d *h264Depacketizer) push(seq uint16, ts uint32, marker bool, payload []byte) (au *accessUnit, lost bool) {
	late, fresh, lost := d.seq.next(seq, ts, len(d.au) > 0 || d.inFU)
	if late {
		return nil, false
	}
	if fresh {
		d.clear()
	}
	if !d.seq.broken && !d.add(payload) {
		d.seq.broken, lost = true, true
	}
	if !marker {
		return nil, lost
	}
	if !d.seq.broken && len(d.au) > 0 && !d.inFU {
		au = &accessUnit{data: append([]byte(nil), d.au...), ts: d.seq.ts, key: d.key}
	}
	d.seq.restart(ts)
	d.clear()
	return au, lost
}

// clear drops what was gathered of the current access unit.
func (d *h264Depacketizer) clear() {
	d.inFU, d.key = false, false
	d.au, d.fu = d.au[:0], d.fu[:0]
}

// add appends the payload's NAL units; false for a payload it cannot read.
func (d *h264Depacketizer) add(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case h264STAPA:
		p = p[1:]
		for len(p) > 0 {
			if len(p) < 2 {
				return false
			}
			n := int(binary.BigEndian.Uint16(p))
			if n == 0 || n > len(p)-2 {
				return false
			}
			if !d.nalu(p[2 : 2+n]) {
				return false
			}
			p = p[2+n:]
		}
		return true
	case h264FUA:
		if len(p) < 2 {
			return false
		}
		start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
		if start {
			if d.inFU {
				return false
			}
			d.inFU = true
			d.fu = append(d.fu[:0], p[0]&0xe0|p[1]&0x1f)
		} else if !d.inFU {
			return false
		}
		d.fu = append(d.fu, p[2:]...)
		if len(d.fu) > maxAccessUnit {
			return false
		}
		if end {
			d.inFU = false
			return d.nalu(d.fu)
		}
		return true
	case 0, 25, 26, 27, 29, 30, 31:
		// STAP-B, MTAP, FU-B: not in packetization-mode 1.
		return false
	default:
		return d.nalu(p)
	}
}

func (d *h264Depacketizer) nalu(n []byte) bool {
	if len(n) == 0 {
		return true
	}
	switch media.NALUType(n) {
	case media.NALUTypeAUD:
		return true
	case media.NALUTypeIDR:
		d.key = true
	case media.NALUTypeSPS:
		if string(n) != string(d.sps) {
			d.sps, d.psNew = append([]byte(nil), n...), true
		}
	case media.NALUTypePPS:
		if string(n) != string(d.pps) {
			d.pps, d.psNew = append([]byte(nil), n...), true
		}
	}
	if len(d.au)+4+len(n) > maxAccessUnit {
		return false
	}
	d.au = binary.BigEndian.AppendUint32(d.au, uint32(len(n)))
	d.au = append(d.au, n...)
	return true
}

// paramSetsChanged returns the parameter sets once after they changed, as
// the H.264 config for the stream's track.
func (d *h264Depacketizer) paramSetsChanged() (*media.H264Config, bool) {
	if !d.psNew || d.sps == nil || d.pps == nil {
		return nil, false
	}
	d.psNew = false
	cfg, err := media.H264ConfigFromParamSets(d.sps, d.pps)
	if err != nil {
		return nil, false
	}
	return cfg, true
}

package whip

// vp8Depacketizer turns a WHIP publisher's VP8 RTP packets (RFC 7741) into
// whole frames for the media.Stream: stream health (frame rate, bitrate,
// keyframe interval) and the GOP cache. Viewers are sent the packets
// themselves. A frame starts at a packet with S=1 and partition 0 and ends
// at the marker bit; one with a sequence gap is dropped whole.
type vp8Depacketizer struct {
	seq     rtpSequence
	inFrame bool
	key     bool
	frame   []byte
}

// push adds one packet. It returns a complete frame when p ends one, and
// lost when a gap was found.
func (d *vp8Depacketizer) push(seq uint16, ts uint32, marker bool, payload []byte) (f *accessUnit, lost bool) {
	late, fresh, lost := d.seq.next(seq, ts, d.inFrame)
	if late {
		return nil, false
	}
	if fresh {
		d.clear()
	}
	hdr, start, ok := vp8Descriptor(payload)
	switch {
	case !ok:
		d.seq.broken, lost = true, true
	case d.seq.broken:
	case start:
		d.inFrame, d.key = true, payload[hdr]&0x01 == 0
		d.frame = append(d.frame[:0], payload[hdr:]...)
	case !d.inFrame:
		// Joined mid-frame: wait for the next start.
		d.seq.broken = true
	case len(d.frame)+len(payload)-hdr > maxAccessUnit:
		d.seq.broken, lost = true, true
	default:
		d.frame = append(d.frame, payload[hdr:]...)
	}
	if !marker {
		return nil, lost
	}
	if !d.seq.broken && d.inFrame {
		f = &accessUnit{data: append([]byte(nil), d.frame...), ts: d.seq.ts, key: d.key}
	}
	d.seq.restart(ts)
	d.clear()
	return f, lost
}

// clear drops what was gathered of the current frame.
func (d *vp8Depacketizer) clear() {
	d.inFrame, d.key = false, false
	d.frame = d.frame[:0]
}

// vp8Descriptor parses a VP8 payload descriptor: its length, whether the
// packet starts a frame (S=1, partition 0), and ok when a payload follows.
func vp8Descriptor(p []byte) (n int, start, ok bool) {
	if len(p) < 1 {
		return 0, false, false
	}
	x := p[0]&0x80 != 0
	start = p[0]&0x10 != 0 && p[0]&0x07 == 0
	n = 1
	if x {
		if len(p) < 2 {
			return 0, false, false
		}
		ext := p[1]
		n = 2
		if ext&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if len(p) <= n {
				return 0, false, false
			}
			if p[n]&0x80 != 0 {
				n += 2
			} else {
				n++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			n++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			n++
		}
	}
	return n, start, len(p) > n
}

// vp8KeyframeSize reads the picture size from a VP8 keyframe's header
// (RFC 6386 section 9.1: a 3-byte frame tag, the start code 9d 01 2a, then
// 14-bit width and height, little endian, each under 2 scaling bits).
func vp8KeyframeSize(frame []byte) (w, h int, ok bool) {
	if len(frame) < 10 || frame[0]&0x01 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	w = int(frame[6]) | int(frame[7]&0x3f)<<8
	h = int(frame[8]) | int(frame[9]&0x3f)<<8
	return w, h, w > 0 && h > 0
}

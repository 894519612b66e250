package whip

import "github.com/bookmygig/bookmygig/media"

// RTP payload types of H.264 (RFC 6184) the depacketizer handles.
const (
	h264STAPA = media.NALUTypeSTAPA
	h264FUA   = media.NALUTypeFUA
)

// h264Keyframe reports whether an H.264 RTP payload holds an SPS or the
// start of an IDR slice: where a viewer can start decoding (browsers and OBS
// send SPS and PPS in band before every IDR).
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case h264STAPA:
		p = p[1:]
		for len(p) >= 3 {
			n := int(p[0])<<8 | int(p[1])
			if n == 0 || n > len(p)-2 {
				return false
			}
			if nt := p[2] & 0x1f; nt == 7 || nt == 5 {
				return true
			}
			p = p[2+n:]
		}
		return false
	case h264FUA:
		return len(p) >= 2 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	default:
		return t == 7 || t == 5
	}
}

// vp8Keyframe reports whether a VP8 RTP payload (RFC 7741) starts a
// keyframe: the first packet of a frame whose payload header has P=0.
func vp8Keyframe(p []byte) bool {
	n, start, ok := vp8Descriptor(p)
	return ok && start && p[n]&0x01 == 0
}

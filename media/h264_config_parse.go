package media

import (
	"encoding/binary"
	"fmt"
)

// H264ConfigFromParamSets builds the AVCDecoderConfigurationRecord of one
// SPS and one PPS (sent in-band over RTP) and parses it like an RTMP
// sequence header.
func H264ConfigFromParamSets(sps, pps []byte) (*H264Config, error) {
	if len(sps) < 4 || len(sps) > 0xffff || len(pps) > 0xffff {
		return nil, ErrMalformed
	}
	rec := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(sps)))
	rec = append(rec, sps...)
	rec = append(rec, 1)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(pps)))
	rec = append(rec, pps...)
	return ParseAVCDecoderConfig(rec)
}

// ParseAVCDecoderConfig parses an AVCDecoderConfigurationRecord (the body of
// an FLV AVC sequence header, ISO/IEC 14496-15 5.2.4.1) and reads the picture
// size from its first SPS. The returned config owns its bytes: b may be
// reused by the caller afterwards.
func ParseAVCDecoderConfig(b []byte) (*H264Config, error) {
	if len(b) < 7 {
		return nil, fmt.Errorf("avc decoder config of %d bytes: %w", len(b), ErrMalformed)
	}
	if b[0] != 1 {
		return nil, fmt.Errorf("avc decoder config version %d: %w", b[0], ErrMalformed)
	}
	rec := append([]byte(nil), b...)
	c := &H264Config{
		Record:          rec,
		ProfileIDC:      rec[1],
		ConstraintFlags: rec[2],
		LevelIDC:        rec[3],
		LengthSize:      int(rec[4]&0x03) + 1,
	}
	if c.LengthSize == 3 {
		return nil, fmt.Errorf("avc nal length size 3: %w", ErrMalformed)
	}
	p := rec[5:]
	numSPS := int(p[0] & 0x1f)
	p = p[1:]
	var err error
	if c.SPS, p, err = readParamSets(p, numSPS, NALUTypeSPS); err != nil {
		return nil, fmt.Errorf("avc sps: %w", err)
	}
	if len(p) < 1 {
		return nil, fmt.Errorf("avc pps count missing: %w", ErrMalformed)
	}
	numPPS := int(p[0])
	if c.PPS, _, err = readParamSets(p[1:], numPPS, NALUTypePPS); err != nil {
		return nil, fmt.Errorf("avc pps: %w", err)
	}
	// Trailing bytes (the High-profile chroma/bit-depth extension) are
	// informational; Record keeps them for FLV readers.
	if len(c.SPS) == 0 || len(c.PPS) == 0 {
		return nil, fmt.Errorf("avc config with %d sps and %d pps: %w", len(c.SPS), len(c.PPS), ErrMalformed)
	}
	sps, err := ParseSPS(c.SPS[0])
	if err != nil {
		return nil, err
	}
	c.Width, c.Height = sps.Width, sps.Height
	return c, nil
}

func readParamSets(p []byte, n int, want byte) (sets [][]byte, rest []byte, err error) {
	for i := 0; i < n; i++ {
		if len(p) < 2 {
			return nil, nil, fmt.Errorf("length truncated: %w", ErrMalformed)
		}
		l := int(binary.BigEndian.Uint16(p))
		p = p[2:]
		if l == 0 || l > len(p) {
			return nil, nil, fmt.Errorf("parameter set of %d bytes with %d left: %w", l, len(p), ErrMalformed)
		}
		if NALUType(p[:l]) != want {
			return nil, nil, fmt.Errorf("nal type %d, want %d: %w", NALUType(p[:l]), want, ErrMalformed)
		}
		sets = append(sets, p[:l:l])
		p = p[l:]
	}
	return sets, p, nil
}

// SPSInfo is what the server reads from a sequence parameter set.
type SPSInfo struct {
	ProfileIDC      byte
	ConstraintFlags byte
	LevelIDC        byte
	ChromaFormatIDC int
	FrameMBsOnly    bool
	// Width and Height are the cropped picture size in pixels.
	Width  int
	Height int
}

// highProfiles are the profile_idc values whose SPS carries chroma format,
// bit depth and scaling lists (ITU-T H.264 7.3.2.1.1).
func isHighProfile(p byte) bool {
	switch p {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// ParseSPS parses an H.264 sequence parameter set NAL unit (with its NAL
// header byte, emulation prevention bytes still in place).
func ParseSPS(nalu []byte) (*SPSInfo, error) {
	if len(nalu) < 4 || NALUType(nalu) != NALUTypeSPS {
		return nil, fmt.Errorf("sps of %d bytes: %w", len(nalu), ErrMalformed)
	}
	r := bitReader{b: unescapeRBSP(nalu[1:])}
	s := &SPSInfo{ChromaFormatIDC: 1}
	s.ProfileIDC = byte(r.bits(8))
	s.ConstraintFlags = byte(r.bits(8))
	s.LevelIDC = byte(r.bits(8))
	r.ue() // seq_parameter_set_id
	separateColourPlane := false
	if isHighProfile(s.ProfileIDC) {
		s.ChromaFormatIDC = int(r.ue())
		if s.ChromaFormatIDC > 3 {
			return nil, fmt.Errorf("sps chroma_format_idc %d: %w", s.ChromaFormatIDC, ErrMalformed)
		}
		if s.ChromaFormatIDC == 3 {
			separateColourPlane = r.bit()
		}
		r.ue()       // bit_depth_luma_minus8
		r.ue()       // bit_depth_chroma_minus8
		r.bit()      // qpprime_y_zero_transform_bypass_flag
		if r.bit() { // seq_scaling_matrix_present_flag
			n := 8
			if s.ChromaFormatIDC == 3 {
				n = 12
			}
			for i := 0; i < n; i++ {
				if r.bit() {
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(&r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.bit() // delta_pic_order_always_zero_flag
		r.se()  // offset_for_non_ref_pic
		r.se()  // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return nil, fmt.Errorf("sps num_ref_frames_in_pic_order_cnt_cycle %d: %w", n, ErrMalformed)
		}
		for i := uint32(0); i < n; i++ {
			r.se()
		}
	}
	r.ue()  // max_num_ref_frames
	r.bit() // gaps_in_frame_num_value_allowed_flag
	wMBs := int64(r.ue()) + 1
	hMapUnits := int64(r.ue()) + 1
	s.FrameMBsOnly = r.bit()
	if !s.FrameMBsOnly {
		r.bit() // mb_adaptive_frame_field_flag
	}
	r.bit() // direct_8x8_inference_flag
	var cropL, cropR, cropT, cropB int64
	if r.bit() {
		cropL, cropR, cropT, cropB = int64(r.ue()), int64(r.ue()), int64(r.ue()), int64(r.ue())
	}
	if r.err {
		return nil, fmt.Errorf("sps truncated: %w", ErrMalformed)
	}
	frameMBsOnly := int64(1)
	if !s.FrameMBsOnly {
		frameMBsOnly = 0
	}
	cropUnitX, cropUnitY := int64(1), 2-frameMBsOnly
	if !separateColourPlane && s.ChromaFormatIDC != 0 {
		subW, subH := int64(2), int64(1)
		switch s.ChromaFormatIDC {
		case 1:
			subH = 2
		case 3:
			subW = 1
		}
		cropUnitX, cropUnitY = subW, subH*(2-frameMBsOnly)
	}
	w := wMBs*16 - cropUnitX*(cropL+cropR)
	h := (2-frameMBsOnly)*hMapUnits*16 - cropUnitY*(cropT+cropB)
	// 16384 px is far beyond any H.264 level; anything larger is garbage.
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("sps picture size %dx%d: %w", w, h, ErrMalformed)
	}
	s.Width, s.Height = int(w), int(h)
	return s, nil
}

func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for j := 0; j < size && !r.err; j++ {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 -> 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// bitReader reads big-endian bit fields; past the end it reads zeros and
// sets err, so parsers check once at the end.
type bitReader struct {
	b   []byte
	pos int // in bits
	err bool
}

func (r *bitReader) bit() bool { return r.bits(1) == 1 }

func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for i := 0; i < n; i++ {
		v <<= 1
		if r.pos >= len(r.b)*8 {
			r.err = true
			continue
		}
		v |= uint32(r.b[r.pos/8]>>(7-r.pos%8)) & 1
		r.pos++
	}
	return v
}

// ue reads an unsigned exp-Golomb code.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for !r.bit() {
		zeros++
		if zeros > 31 || r.err {
			r.err = true
			return 0
		}
	}
	return (1<<zeros - 1) + r.bits(zeros)
}

// se reads a signed exp-Golomb code.
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

package media

import (
	"encoding/binary"
	"fmt"
)

// FrameFromAVCC makes an H.264 Frame from an AVCC access unit with
// lengthSize-byte NAL length prefixes (1, 2 or 4, from the decoder config):
// Data in the Stream form (4-byte prefixes, no access unit delimiters, no
// filler data, no empty NAL units), with NALUs, Keyframe and HasSPS set from
// the same walk. The caller sets the times. Data never aliases data, so data
// may be a reused buffer. An access unit with nothing left gives a nil Frame
// and no error.
func FrameFromAVCC(data []byte, lengthSize int) (*Frame, error) {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return nil, fmt.Errorf("nal length size %d: %w", lengthSize, ErrMalformed)
	}
	// With 4-byte prefixes the output is never longer than the input, so one
	// walk both copies and validates. Shorter prefixes grow, and (rare:
	// encoders use 4) take a sizing walk first to keep the output one
	// allocation.
	size := len(data)
	if lengthSize != 4 {
		size = 0
		err := eachAVCCNALU(data, lengthSize, func(n []byte) { size += 4 + len(n) })
		if err != nil {
			return nil, err
		}
	}
	f := &Frame{Codec: CodecH264, NALUs: make([][]byte, 0, 4)}
	out := make([]byte, 0, size)
	err := eachAVCCNALU(data, lengthSize, func(n []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		start := len(out)
		out = append(out, n...) // within capacity: NALUs stay valid
		f.addNALU(out[start:len(out):len(out)])
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	f.Data = out
	return f, nil
}

// eachAVCCNALU calls fn for every NAL unit worth keeping (not empty, not an
// AUD, not filler data). It is the server's one loop over the NAL units of
// an access unit's bytes.
func eachAVCCNALU(data []byte, lengthSize int, fn func(nalu []byte)) error {
	for len(data) > 0 {
		if len(data) < lengthSize {
			return fmt.Errorf("nal length prefix truncated: %w", ErrMalformed)
		}
		var n uint64
		for _, c := range data[:lengthSize] {
			n = n<<8 | uint64(c)
		}
		data = data[lengthSize:]
		if n > uint64(len(data)) {
			return fmt.Errorf("nal unit of %d bytes with %d left: %w", n, len(data), ErrMalformed)
		}
		nalu := data[:n]
		data = data[n:]
		if t := NALUType(nalu); len(nalu) == 0 || t == NALUTypeAUD || t == NALUTypeFiller {
			continue
		}
		fn(nalu)
	}
	return nil
}

package media

import (
	"encoding/binary"
	"fmt"
)

// NormalizeAVCC rewrites an AVCC access unit with lengthSize-byte NAL length
// prefixes (1, 2 or 4, from the decoder config) into the Stream form: 4-byte
// prefixes, no access unit delimiters, no empty NAL units. keyframe reports
// whether the unit contains an IDR slice. out never aliases data, so data
// may be a reused buffer. An access unit with nothing left gives an empty
// out and no error.
func NormalizeAVCC(data []byte, lengthSize int) (out []byte, keyframe bool, err error) {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return nil, false, fmt.Errorf("nal length size %d: %w", lengthSize, ErrMalformed)
	}
	// First pass validates and sizes, so the output is one allocation.
	size := 0
	err = eachAVCCNALU(data, lengthSize, func(n []byte) {
		size += 4 + len(n)
		if NALUType(n) == NALUTypeIDR {
			keyframe = true
		}
	})
	if err != nil {
		return nil, false, err
	}
	out = make([]byte, 0, size)
	_ = eachAVCCNALU(data, lengthSize, func(n []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
	})
	return out, keyframe, nil
}

// eachAVCCNALU calls fn for every NAL unit worth keeping (not empty, not an
// AUD).
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
		if len(nalu) == 0 || NALUType(nalu) == NALUTypeAUD {
			continue
		}
		fn(nalu)
	}
	return nil
}

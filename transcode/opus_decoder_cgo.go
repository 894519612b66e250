//go:build cgo

package transcode

/*
#cgo pkg-config: opus
#include <opus/opus.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// OpusDecoder decodes Opus packets to interleaved 16-bit PCM (for the
// Opus -> AAC direction, and to check encoder output in tests). Not safe for
// concurrent use.
type OpusDecoder struct {
	d        *C.OpusDecoder
	channels int
	pcm      []int16
}

// NewOpusDecoder returns a decoder producing rate Hz (8000, 12000, 16000,
// 24000 or 48000) with channels channels (1 or 2).
func NewOpusDecoder(rate, channels int) (*OpusDecoder, error) {
	var e C.int
	d := C.opus_decoder_create(C.opus_int32(rate), C.int(channels), &e)
	if e != C.OPUS_OK || d == nil {
		return nil, fmt.Errorf("open opus decoder: %s: %w", C.GoString(C.opus_strerror(e)), ErrCodec)
	}
	// 120 ms is the longest Opus packet.
	return &OpusDecoder{d: d, channels: channels, pcm: make([]int16, rate*120/1000*channels)}, nil
}

// Decode decodes one packet; the returned samples (interleaved) alias an
// internal buffer valid until the next call.
func (o *OpusDecoder) Decode(pkt []byte) ([]int16, error) {
	if len(pkt) == 0 {
		return nil, fmt.Errorf("empty opus packet: %w", ErrCodec)
	}
	n := C.opus_decode(o.d, (*C.uchar)(unsafe.Pointer(&pkt[0])), C.opus_int32(len(pkt)),
		(*C.opus_int16)(unsafe.Pointer(&o.pcm[0])), C.int(len(o.pcm)/o.channels), 0)
	if n < 0 {
		return nil, fmt.Errorf("decode opus: %s: %w", C.GoString(C.opus_strerror(n)), ErrCodec)
	}
	return o.pcm[:int(n)*o.channels], nil
}

// Close frees the decoder. Idempotent.
func (o *OpusDecoder) Close() {
	if o.d != nil {
		C.opus_decoder_destroy(o.d)
		o.d = nil
	}
}

//go:build !cgo

package transcode

// cgoEnabled reports whether the codecs are linked in.
const cgoEnabled = false

// aacOpusCodec stands in for the cgo pipeline; it is never created.
type aacOpusCodec struct{}

func newAACOpusCodec([]byte, int, int) (*aacOpusCodec, error) { return nil, ErrUnavailable }
func (*aacOpusCodec) decode([]byte) (int, error)              { return 0, ErrUnavailable }
func (*aacOpusCodec) encode() ([]byte, error)                 { return nil, ErrUnavailable }
func (*aacOpusCodec) buffered() int                           { return 0 }
func (*aacOpusCodec) free()                                   {}

// OpusDecoder decodes Opus packets; without cgo it cannot be created.
type OpusDecoder struct{}

// NewOpusDecoder returns ErrUnavailable without cgo.
func NewOpusDecoder(rate, channels int) (*OpusDecoder, error) { return nil, ErrUnavailable }

// Decode returns ErrUnavailable without cgo.
func (*OpusDecoder) Decode([]byte) ([]int16, error) { return nil, ErrUnavailable }

// Close does nothing without cgo.
func (*OpusDecoder) Close() {}

// opusAACCodec stands in for the cgo Opus -> AAC pipeline; never created.
type opusAACCodec struct{}

func newOpusAACCodec(int) (*opusAACCodec, error)     { return nil, ErrUnavailable }
func (*opusAACCodec) audioSpecificConfig() []byte    { return nil }
func (*opusAACCodec) decode([]byte) (int, error)     { return 0, ErrUnavailable }
func (*opusAACCodec) encode() ([]byte, int64, error) { return nil, 0, ErrUnavailable }
func (*opusAACCodec) free()                          {}

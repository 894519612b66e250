package media

import "fmt"

// aacSampleRates maps samplingFrequencyIndex to Hz (ISO/IEC 14496-3 1.6.3.4).
var aacSampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// ParseAudioSpecificConfig parses an MPEG-4 AudioSpecificConfig (the body of
// an FLV AAC sequence header). The sample rate and channel count come from
// here, never from the FLV tag's SoundRate bits, which cannot express 48 kHz.
// Configs longer than two bytes (explicit SBR/PS signalling) are kept whole
// in Raw.
func ParseAudioSpecificConfig(b []byte) (*AACConfig, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("audio specific config of %d bytes: %w", len(b), ErrMalformed)
	}
	r := bitReader{b: b}
	c := &AACConfig{Raw: append([]byte(nil), b...)}
	c.ObjectType = readAudioObjectType(&r)
	if c.ObjectType == 0 {
		return nil, fmt.Errorf("aac object type 0: %w", ErrMalformed)
	}
	var err error
	if c.SampleRate, err = readSampleRate(&r); err != nil {
		return nil, err
	}
	cfg := int(r.bits(4))
	switch {
	case cfg <= 6:
		c.Channels = cfg // 0: described by a program config element
	case cfg == 7:
		c.Channels = 8
	case cfg == 11:
		c.Channels = 7
	case cfg == 12, cfg == 14:
		c.Channels = 8
	case cfg == 13:
		c.Channels = 24
	default:
		return nil, fmt.Errorf("aac channel configuration %d: %w", cfg, ErrMalformed)
	}
	if c.ObjectType == 5 || c.ObjectType == 29 {
		// Explicit hierarchical SBR/PS signalling: the extension rate
		// follows, then the core object type.
		if _, err := readSampleRate(&r); err != nil {
			return nil, err
		}
		if readAudioObjectType(&r) == 0 {
			return nil, fmt.Errorf("aac core object type 0: %w", ErrMalformed)
		}
	}
	if r.err {
		return nil, fmt.Errorf("audio specific config truncated: %w", ErrMalformed)
	}
	return c, nil
}

func readAudioObjectType(r *bitReader) int {
	t := int(r.bits(5))
	if t == 31 {
		t = 32 + int(r.bits(6))
	}
	return t
}

func readSampleRate(r *bitReader) (int, error) {
	idx := int(r.bits(4))
	if idx == 0xf {
		rate := int(r.bits(24))
		if rate == 0 {
			return 0, fmt.Errorf("aac explicit sample rate 0: %w", ErrMalformed)
		}
		return rate, nil
	}
	if idx >= len(aacSampleRates) {
		return 0, fmt.Errorf("aac sampling frequency index %d: %w", idx, ErrMalformed)
	}
	return aacSampleRates[idx], nil
}

package ingest

import "fmt"

// FLV tag body constants (FLV spec v10.1, E.4.2/E.4.3).
const (
	videoCodecAVC   = 7
	videoFrameInfo  = 5 // video info/command frame, carries no picture
	avcSequenceHdr  = 0
	avcNALU         = 1
	avcEndOfSeq     = 2
	audioFormatAAC  = 10
	aacSequenceHdr  = 0
	aacRaw          = 1
	exVideoHeaderFl = 0x80 // enhanced RTMP: codec is a FourCC
)

// videoTag is a parsed FLV VIDEODATA body. Data aliases the input.
type videoTag struct {
	FrameType  byte
	CodecID    byte
	PacketType byte
	// CTS is the composition time offset in ms (signed 24-bit).
	CTS  int32
	Data []byte
}

// parseVideoTag reads an FLV video tag body. Codecs other than AVC are
// returned with only FrameType and CodecID set so the caller can name them.
func parseVideoTag(b []byte) (videoTag, error) {
	if len(b) < 1 {
		return videoTag{}, fmt.Errorf("empty video tag: %w", ErrMalformedTag)
	}
	t := videoTag{FrameType: b[0] >> 4 & 0x07, CodecID: b[0] & 0x0f}
	if b[0]&exVideoHeaderFl != 0 {
		// Enhanced RTMP (HEVC, AV1, VP9 from OBS 29.1+): not carried.
		return t, fmt.Errorf("enhanced rtmp video: %w", ErrUnsupportedCodec)
	}
	if t.CodecID != videoCodecAVC {
		return t, fmt.Errorf("flv video codec id %d (%s), need H.264: %w", t.CodecID, videoCodecName(t.CodecID), ErrUnsupportedCodec)
	}
	if t.FrameType == videoFrameInfo {
		return t, nil
	}
	if len(b) < 5 {
		return t, fmt.Errorf("avc video tag of %d bytes: %w", len(b), ErrMalformedTag)
	}
	t.PacketType = b[1]
	if t.PacketType > avcEndOfSeq {
		return t, fmt.Errorf("avc packet type %d: %w", t.PacketType, ErrMalformedTag)
	}
	cts := int32(b[2])<<16 | int32(b[3])<<8 | int32(b[4])
	t.CTS = cts << 8 >> 8 // sign-extend 24 bits
	t.Data = b[5:]
	return t, nil
}

// audioTag is a parsed FLV AUDIODATA body. Data aliases the input.
type audioTag struct {
	Format     byte
	PacketType byte
	Data       []byte
}

// parseAudioTag reads an FLV audio tag body. The SoundRate/SoundSize/
// SoundType bits are ignored on purpose: for AAC the AudioSpecificConfig is
// authoritative (SoundRate cannot even say 48 kHz).
func parseAudioTag(b []byte) (audioTag, error) {
	if len(b) < 1 {
		return audioTag{}, fmt.Errorf("empty audio tag: %w", ErrMalformedTag)
	}
	t := audioTag{Format: b[0] >> 4}
	if t.Format != audioFormatAAC {
		return t, fmt.Errorf("flv sound format %d (%s), need AAC: %w", t.Format, audioFormatName(t.Format), ErrUnsupportedCodec)
	}
	if len(b) < 2 {
		return t, fmt.Errorf("aac audio tag of %d bytes: %w", len(b), ErrMalformedTag)
	}
	t.PacketType = b[1]
	if t.PacketType > aacRaw {
		return t, fmt.Errorf("aac packet type %d: %w", t.PacketType, ErrMalformedTag)
	}
	t.Data = b[2:]
	return t, nil
}

func videoCodecName(id byte) string {
	switch id {
	case 2:
		return "Sorenson H.263"
	case 3:
		return "Screen video"
	case 4:
		return "VP6"
	case 5:
		return "VP6 alpha"
	case 6:
		return "Screen video v2"
	case 7:
		return "H.264"
	case 12:
		return "HEVC"
	default:
		return "unknown"
	}
}

func audioFormatName(f byte) string {
	switch f {
	case 0, 3:
		return "PCM"
	case 1:
		return "ADPCM"
	case 2:
		return "MP3"
	case 4, 5, 6:
		return "Nellymoser"
	case 7, 8:
		return "G.711"
	case 10:
		return "AAC"
	case 11:
		return "Speex"
	case 13:
		return "Opus"
	default:
		return "unknown"
	}
}

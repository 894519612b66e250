package media

import "time"

// Codec identifies the codec of a Frame or Track.
type Codec uint8

// Codecs carried by the server.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecVP8
	CodecAAC
	CodecOpus
)

// String returns the codec's common name.
func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "H264"
	case CodecVP8:
		return "VP8"
	case CodecAAC:
		return "AAC"
	case CodecOpus:
		return "Opus"
	default:
		return "unknown"
	}
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 || c == CodecVP8 }

// Frame is one video access unit or one audio frame. A Frame is immutable once
// written to a Stream: every reader sees the same bytes, so anything that must
// differ per reader is done on a copy.
type Frame struct {
	Codec Codec
	// DTS is the decode time, relative to the stream's first frame.
	DTS time.Duration
	// CTS is the composition offset (PTS = DTS + CTS); non-zero only for
	// video with B-frames.
	CTS time.Duration
	// Keyframe marks an IDR access unit (video); audio frames are always false.
	Keyframe bool
	// Data is the payload:
	//   H.264: AVCC, every NAL unit prefixed by a 4-byte big-endian length
	//          (AUD NAL units removed), split into NALUs;
	//   AAC:   one raw access unit (no ADTS header);
	//   Opus:  one Opus packet;
	//   VP8:   one frame.
	Data []byte
	// NALUs are an H.264 access unit's NAL units, sub-slices of Data
	// without their length prefixes, access unit delimiters, filler data
	// or empty units. Data is split once, where the frame enters media
	// (FrameFromAVCC at RTMP ingest, Stream.WriteFrame for a frame written
	// without NALUs), together with Keyframe and HasSPS: readers use these
	// and never walk Data's NAL units again.
	NALUs [][]byte
	// HasSPS marks an H.264 access unit that carries its sequence parameter
	// set in band (encoders send the PPS with it), so a packetizer need not
	// put the track's stored parameter sets in front of it.
	HasSPS bool
}

// addNALU appends one kept NAL unit of an H.264 frame and the flags it sets.
func (f *Frame) addNALU(n []byte) {
	switch NALUType(n) {
	case NALUTypeIDR:
		f.Keyframe = true
	case NALUTypeSPS:
		f.HasSPS = true
	}
	f.NALUs = append(f.NALUs, n)
}

// splitH264 sets NALUs and HasSPS of an H.264 frame written with Data only
// (a WHIP publisher's depacketized access unit), and Keyframe when it has
// an IDR slice (a writer's own keyframe mark is kept). A malformed Data
// leaves no NAL units: packetizers drop the frame.
func (f *Frame) splitH264() error {
	key := f.Keyframe
	f.NALUs, f.HasSPS = make([][]byte, 0, 4), false
	err := eachAVCCNALU(f.Data, 4, func(n []byte) { f.addNALU(n[:len(n):len(n)]) })
	if err != nil {
		f.NALUs, f.Keyframe, f.HasSPS = nil, key, false
	}
	return err
}

// PTS returns the presentation time.
func (f *Frame) PTS() time.Duration { return f.DTS + f.CTS }

// Track describes one elementary stream of a Stream: the codec and the codec
// parameters a reader needs before the first frame (FLV sequence headers, SDP).
type Track struct {
	Codec Codec
	// H264 is set for CodecH264 tracks.
	H264 *H264Config
	// AAC is set for CodecAAC tracks.
	AAC *AACConfig
	// Width and Height are the picture size of a video track that has no
	// decoder configuration record (VP8: from its keyframe header).
	Width, Height int
	// SampleRate and Channels describe audio tracks.
	SampleRate int
	Channels   int
	// Derived marks a track produced by the server (a transcode) rather
	// than sent by the publisher.
	Derived bool
}

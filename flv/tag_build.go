package flv

import (
	"encoding/binary"
	"time"

	"github.com/bookmygig/bookmygig/internal/wsframe"
	"github.com/bookmygig/bookmygig/media"
)

// FLV constants (FLV spec v10.1, annex E).
const (
	tagTypeAudio  = 8
	tagTypeVideo  = 9
	tagTypeScript = 18

	tagHeaderLen = 11
	// wsRoom is reserved in front of every tag for the largest WebSocket
	// frame header, so the same buffer serves HTTP and WS viewers.
	wsRoom = wsframe.MaxHeaderLen
)

// tagKind says how a viewer queue may treat a tag.
type tagKind uint8

const (
	kindHeader tagKind = iota // metadata or sequence header: never dropped
	kindVideo
	kindAudio
)

// tag is one FLV tag, built once per stream and shared, read-only, by every
// viewer. buf holds [unused][WebSocket frame header][FLV tag][PreviousTagSize].
type tag struct {
	buf   []byte
	wsOff int
	kind  tagKind
	key   bool // video keyframe
}

// flv returns the tag with its trailing PreviousTagSize.
func (t *tag) flv() []byte { return t.buf[wsRoom:] }

// ws returns the tag as one binary WebSocket frame (server frames are not
// masked, so the frame is identical for every viewer).
func (t *tag) ws() []byte { return t.buf[t.wsOff:] }

func (t *tag) size() int { return len(t.buf) - wsRoom }

// ts is the tag's timestamp.
func (t *tag) ts() time.Duration {
	h := t.buf[wsRoom:]
	ms := uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	return time.Duration(ms) * time.Millisecond
}

// newTag allocates a tag with a body of bodyLen bytes at ts and returns it
// with the body slice to fill.
func newTag(typ byte, ts time.Duration, bodyLen int, kind tagKind, key bool) (*tag, []byte) {
	n := tagHeaderLen + bodyLen + 4
	buf := make([]byte, wsRoom+n)
	t := &tag{buf: buf, kind: kind, key: key}
	// The frame header is written in place, right before the FLV tag.
	t.wsOff = wsRoom - wsframe.HeaderLen(n)
	wsframe.AppendHeader(buf[t.wsOff:t.wsOff], wsframe.OpBinary, n)

	ms := ts.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	h := buf[wsRoom:]
	h[0] = typ
	put24(h[1:], uint32(bodyLen))
	put24(h[4:], uint32(ms))
	h[7] = byte(uint32(ms) >> 24) // TimestampExtended
	// StreamID (3 bytes) stays 0.
	binary.BigEndian.PutUint32(h[tagHeaderLen+bodyLen:], uint32(tagHeaderLen+bodyLen))
	return t, h[tagHeaderLen : tagHeaderLen+bodyLen]
}

func put24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}

// fileHeader returns the 9-byte FLV header plus PreviousTagSize0.
func fileHeader(audio, video bool) []byte {
	flags := byte(0)
	if audio {
		flags |= 0x04
	}
	if video {
		flags |= 0x01
	}
	return []byte{'F', 'L', 'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0}
}

// tagFromFrame builds the tag of an H.264 or AAC frame at ts.
func tagFromFrame(f *media.Frame, ts time.Duration) *tag {
	if f.Codec == media.CodecH264 {
		return videoTagFromFrame(f, ts)
	}
	return audioTagFromFrame(f, ts)
}

// videoTagFromFrame builds an AVC NALU tag at ts; f.Data is already 4-byte AVCC,
// matching the sequence header this package sends (lengthSizeMinusOne 3).
func videoTagFromFrame(f *media.Frame, ts time.Duration) *tag {
	t, body := newTag(tagTypeVideo, ts, 5+len(f.Data), kindVideo, f.Keyframe)
	body[0] = 0x27 // inter frame, AVC
	if f.Keyframe {
		body[0] = 0x17
	}
	body[1] = 1
	put24(body[2:], uint32(int32(f.CTS.Milliseconds())))
	copy(body[5:], f.Data)
	return t
}

// avcSequenceHeaderTag builds the AVC sequence header from the track's
// record, with the NAL length size forced to 4 because frames in a Stream
// are normalized to 4-byte lengths whatever the publisher used.
func avcSequenceHeaderTag(c *media.H264Config, ts time.Duration) *tag {
	t, body := newTag(tagTypeVideo, ts, 5+len(c.Record), kindHeader, false)
	body[0], body[1] = 0x17, 0
	copy(body[5:], c.Record)
	if len(c.Record) > 4 {
		body[5+4] |= 0x03
	}
	return t
}

func audioTagFromFrame(f *media.Frame, ts time.Duration) *tag {
	t, body := newTag(tagTypeAudio, ts, 2+len(f.Data), kindAudio, false)
	body[0], body[1] = 0xaf, 1 // AAC; the rate/size/type bits are fixed for AAC
	copy(body[2:], f.Data)
	return t
}

func aacSequenceHeaderTag(c *media.AACConfig, ts time.Duration) *tag {
	t, body := newTag(tagTypeAudio, ts, 2+len(c.Raw), kindHeader, false)
	body[0], body[1] = 0xaf, 0
	copy(body[2:], c.Raw)
	return t
}

// metadataTag builds the onMetaData script tag players read the picture
// size and codecs from.
func metadataTag(video, audio *media.Track, fps float64) *tag {
	var e amf0ECMA
	e.number("duration", 0)
	if video != nil && video.H264 != nil {
		e.number("width", float64(video.H264.Width))
		e.number("height", float64(video.H264.Height))
		if fps > 0 {
			e.number("framerate", fps)
		}
		e.number("videocodecid", 7)
	}
	if audio != nil {
		e.number("audiocodecid", 10)
		e.number("audiosamplerate", float64(audio.SampleRate))
		e.number("audiosamplesize", 16)
		e.boolean("stereo", audio.Channels >= 2)
	}
	e.boolean("hasVideo", video != nil)
	e.boolean("hasAudio", audio != nil)
	e.str("encoder", "BookMyGig")
	data := e.bytes("onMetaData")
	t, body := newTag(tagTypeScript, 0, len(data), kindHeader, false)
	copy(body, data)
	return t
}

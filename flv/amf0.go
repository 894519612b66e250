package flv

import (
	"encoding/binary"
	"math"
)

// amf0ECMA builds the AMF0 payload of a script tag: a name string and an
// ECMA array, the shape flv.js and ffmpeg read onMetaData from.
type amf0ECMA struct {
	n    uint32
	body []byte
}

func (e *amf0ECMA) key(k string) {
	e.n++
	e.body = binary.BigEndian.AppendUint16(e.body, uint16(len(k)))
	e.body = append(e.body, k...)
}

func (e *amf0ECMA) number(k string, v float64) {
	e.key(k)
	e.body = append(e.body, 0x00)
	e.body = binary.BigEndian.AppendUint64(e.body, math.Float64bits(v))
}

func (e *amf0ECMA) boolean(k string, v bool) {
	e.key(k)
	b := byte(0)
	if v {
		b = 1
	}
	e.body = append(e.body, 0x01, b)
}

func (e *amf0ECMA) str(k, v string) {
	e.key(k)
	e.body = append(e.body, 0x02)
	e.body = binary.BigEndian.AppendUint16(e.body, uint16(len(v)))
	e.body = append(e.body, v...)
}

func (e *amf0ECMA) bytes(name string) []byte {
	out := []byte{0x02}
	out = binary.BigEndian.AppendUint16(out, uint16(len(name)))
	out = append(out, name...)
	out = append(out, 0x08)
	out = binary.BigEndian.AppendUint32(out, e.n)
	out = append(out, e.body...)
	return append(out, 0, 0, 0x09)
}

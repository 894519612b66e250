package ingest

import (
	"encoding/binary"
	"fmt"
	"math"
)

// checkAMF0 walks the AMF0 values of a command or data message the way
// go-amf0 v0.1.0 decodes them, value after value until the first one it
// would fail on, and refuses what would make it allocate out of proportion
// to the message: strict arrays declaring more elements than the message
// has bytes (go-amf0 allocates 16 bytes per declared element before reading
// any), and nesting deeper than maxAMFDepth (it recurses per level).
func checkAMF0(b []byte) error {
	w := amfWalker{b: b, budget: len(b)}
	for w.off < len(w.b) {
		if stop, err := w.value(0); stop || err != nil {
			return err
		}
	}
	return nil
}

type amfWalker struct {
	b   []byte
	off int
	// budget is how many array elements may still be declared: in a
	// well-formed message every element starts at its own byte.
	budget int
}

// need reports whether n more bytes are there; go-amf0 fails (and stops)
// where they are not.
func (w *amfWalker) need(n int) bool { return n <= len(w.b)-w.off }

// value walks one value. stop means go-amf0 stops decoding here with an
// error of its own, so nothing after it is ever decoded.
func (w *amfWalker) value(depth int) (stop bool, err error) {
	if depth > maxAMFDepth {
		return true, fmt.Errorf("amf0 values nested over %d deep: %w", maxAMFDepth, ErrMalformedChunk)
	}
	if !w.need(1) {
		return true, nil
	}
	marker := w.b[w.off]
	w.off++
	switch marker {
	case 0x00: // number
		return w.skip(8), nil
	case 0x01: // boolean
		return w.skip(1), nil
	case 0x02: // string
		return w.str(), nil
	case 0x03: // object
		return w.properties(depth)
	case 0x05: // null
		return false, nil
	case 0x08: // ECMA array: a count go-amf0 ignores, then properties
		if w.skip(4) {
			return true, nil
		}
		return w.properties(depth)
	case 0x0a: // strict array
		if !w.need(4) {
			return true, nil
		}
		n := binary.BigEndian.Uint32(w.b[w.off:])
		w.off += 4
		if n > math.MaxInt32 {
			return true, nil // go-amf0 refuses it before allocating
		}
		if int(n) > w.budget {
			return true, fmt.Errorf("amf0 strict array of %d elements in a %d-byte message: %w", n, len(w.b), ErrMalformedChunk)
		}
		w.budget -= int(n)
		for i := 0; i < int(n); i++ {
			if stop, err := w.value(depth + 1); stop || err != nil {
				return true, err
			}
		}
		return false, nil
	case 0x0b: // date: double and time zone
		return w.skip(10), nil
	default:
		// movieclip, undefined, reference, object end, long string,
		// unsupported, recordset, XML, typed object, AMF3 switch: go-amf0
		// returns an error without reading further.
		return true, nil
	}
}

func (w *amfWalker) skip(n int) (stop bool) {
	if !w.need(n) {
		return true
	}
	w.off += n
	return false
}

// str skips a UTF-8 string with a 16-bit length.
func (w *amfWalker) str() (stop bool) {
	if !w.need(2) {
		return true
	}
	n := int(binary.BigEndian.Uint16(w.b[w.off:]))
	w.off += 2
	return w.skip(n)
}

// properties walks key/value pairs up to the empty key and object-end marker.
func (w *amfWalker) properties(depth int) (stop bool, err error) {
	for {
		if !w.need(2) {
			return true, nil
		}
		empty := w.b[w.off] == 0 && w.b[w.off+1] == 0
		if w.str() {
			return true, nil
		}
		if empty {
			if !w.need(1) || w.b[w.off] != 0x09 {
				return true, nil
			}
			w.off++
			return false, nil
		}
		if stop, err := w.value(depth + 1); stop || err != nil {
			return true, err
		}
	}
}

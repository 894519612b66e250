// Package wsframe encodes server-to-client WebSocket frames (RFC 6455
// section 5.2). Server frames are never masked and, without extensions, never
// compressed, so a frame's bytes are the same for every receiver: a room or
// a stream encodes once and every connection writes the same bytes. Only
// whole (FIN) frames are written; reading frames is left to the WebSocket
// library that did the handshake.
package wsframe

import (
	"encoding/binary"
	"unicode/utf8"
)

// Opcode is a frame's opcode.
type Opcode byte

// Opcodes (RFC 6455 section 5.2).
const (
	OpText   Opcode = 0x1
	OpBinary Opcode = 0x2
	OpClose  Opcode = 0x8
	OpPing   Opcode = 0x9
	OpPong   Opcode = 0xA
)

const (
	// MaxHeaderLen is the longest header a server frame has: room reserved
	// for it in front of a payload always fits.
	MaxHeaderLen = 10
	// MaxControlPayload is the most a control frame (close, ping, pong)
	// may carry.
	MaxControlPayload = 125
	// maxCloseReason is what is left of a close frame for its reason after
	// the 2-byte code.
	maxCloseReason = MaxControlPayload - 2
)

// HeaderLen returns the length of the header of a frame whose payload is
// payloadLen bytes: 2, 4 or 10.
func HeaderLen(payloadLen int) int {
	switch {
	case payloadLen < 126:
		return 2
	case payloadLen <= 0xFFFF:
		return 4
	default:
		return 10
	}
}

// AppendHeader appends the header of a final, unmasked frame of op carrying
// payloadLen bytes; the payload is the caller's to append (or to write
// after it, as its own buffer of a vectored write).
func AppendHeader(dst []byte, op Opcode, payloadLen int) []byte {
	dst = append(dst, 0x80|byte(op)) // FIN, no extension bits
	switch HeaderLen(payloadLen) {
	case 2:
		return append(dst, byte(payloadLen))
	case 4:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(payloadLen))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(payloadLen))
	}
}

// AppendFrame appends a whole final frame of op carrying payload. Control
// frames must carry at most MaxControlPayload bytes; that is the caller's
// to keep.
func AppendFrame(dst []byte, op Opcode, payload []byte) []byte {
	return append(AppendHeader(dst, op, len(payload)), payload...)
}

// AppendText appends payload as one text frame.
func AppendText(dst, payload []byte) []byte { return AppendFrame(dst, OpText, payload) }

// AppendBinary appends payload as one binary frame.
func AppendBinary(dst, payload []byte) []byte { return AppendFrame(dst, OpBinary, payload) }

// AppendClose appends a close frame with code and reason. The reason is cut
// to the 123 bytes a control frame has room for, at a character boundary.
// Code 0 sends a close frame without a status (RFC 6455 section 7.1.5).
func AppendClose(dst []byte, code int, reason string) []byte {
	if code == 0 {
		return AppendHeader(dst, OpClose, 0)
	}
	reason = truncate(reason, maxCloseReason)
	dst = AppendHeader(dst, OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

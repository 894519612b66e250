package ingest

import (
	"encoding/binary"
	"fmt"
)

// chunkGuard follows the RTMP chunk stream as go-rtmp v0.0.7 will parse it,
// one step ahead, on the bytes deadlineConn.Read hands over, so that input
// which would make go-rtmp (or go-amf0 under it) allocate without bound is
// refused before go-rtmp sees it:
//   - go-amf0 allocates a strict array's declared length up front: a
//     30-byte connect command declaring 2^31-1 elements asks for 32 GiB and
//     the runtime kills the whole process ("fatal error: out of memory"),
//     which no recover() can contain;
//   - it recurses once per nested object or array (a deep enough nesting
//     overflows the goroutine stack, also fatal);
//   - go-rtmp buffers any declared message length (up to 16 MiB) on up to
//     MaxChunkStreams chunk streams at once.
//
// It mirrors go-rtmp's parsing exactly, including its quirks (no extended
// timestamp on type-3 chunks, a new chunk size taking effect after the
// SetChunkSize message), so that both always agree on message boundaries.
type chunkGuard struct {
	maxMessage int // Config.MaxMessageBytes
	skip       int // handshake bytes still to pass
	chunkSize  int
	streams    map[int]*guardStream
	pending    int // bytes of unfinished messages over all chunk streams

	hdr         [18]byte
	hdrLen      int
	hdrNeed     int
	extChecked  bool
	cur         *guardStream
	payloadLeft int
}

type guardStream struct {
	msgLen    int
	typeID    byte
	got       int
	completed bool
	buffering bool
	buf       []byte
}

const (
	// handshakeBytes is C0 + C1 + C2.
	handshakeBytes = 1 + 1536 + 1536
	// maxAMFMessageBytes caps a command or data message: encoders send
	// commands of a few hundred bytes and onMetaData of about one KiB.
	maxAMFMessageBytes = 64 << 10
	// maxAMFDepth caps nested objects and arrays (encoders use 2).
	maxAMFDepth = 16
	// maxGuardChunkStreams matches ConnConfig.ControlState.MaxChunkStreams.
	maxGuardChunkStreams = 64

	msgTypeSetChunkSize = 1
	msgTypeDataAMF0     = 18
	msgTypeCommandAMF0  = 20
	maxRTMPChunkSize    = 0xffffff
)

func newChunkGuard(maxMessage int) *chunkGuard {
	return &chunkGuard{
		maxMessage: maxMessage,
		skip:       handshakeBytes,
		chunkSize:  128,
		streams:    make(map[int]*guardStream),
	}
}

func (g *chunkGuard) errorf(format string, args ...any) error {
	return fmt.Errorf("rtmp chunk stream: "+format+": %w", append(args, ErrMalformedChunk)...)
}

// feed inspects the next bytes of the connection. An error means go-rtmp
// must not see them.
func (g *chunkGuard) feed(p []byte) error {
	for len(p) > 0 {
		switch {
		case g.skip > 0:
			n := min(g.skip, len(p))
			g.skip -= n
			p = p[n:]
		case g.payloadLeft > 0:
			n := min(g.payloadLeft, len(p))
			s := g.cur
			if s.buffering {
				s.buf = append(s.buf, p[:n]...)
			}
			s.got += n
			g.pending += n
			g.payloadLeft -= n
			p = p[n:]
			if g.pending > g.maxMessage+maxAMFMessageBytes {
				return fmt.Errorf("%d bytes of unfinished messages: %w", g.pending, ErrMessageTooLarge)
			}
			if g.payloadLeft == 0 && s.got == s.msgLen {
				if err := g.complete(s); err != nil {
					return err
				}
			}
		default:
			g.hdr[g.hdrLen] = p[0]
			g.hdrLen++
			p = p[1:]
			if g.hdrLen == 1 {
				g.hdrNeed = basicHeaderLen(g.hdr[0]) + [4]int{11, 7, 3, 0}[g.hdr[0]>>6]
				g.extChecked = false
			}
			if g.hdrLen < g.hdrNeed {
				continue
			}
			fmtType := g.hdr[0] >> 6
			if !g.extChecked && fmtType < 3 {
				g.extChecked = true
				b := basicHeaderLen(g.hdr[0])
				if u24(g.hdr[b:]) == 0xffffff {
					g.hdrNeed += 4
					continue
				}
			}
			if err := g.startChunk(); err != nil {
				return err
			}
			g.hdrLen = 0
		}
	}
	return nil
}

func basicHeaderLen(b0 byte) int {
	switch b0 & 0x3f {
	case 0:
		return 2
	case 1:
		return 3
	}
	return 1
}

func u24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

func (g *chunkGuard) startChunk() error {
	h := g.hdr[:g.hdrLen]
	b := basicHeaderLen(h[0])
	csid := int(h[0] & 0x3f)
	switch b {
	case 2:
		csid = int(h[1]) + 64
	case 3:
		csid = int(h[2])*256 + int(h[1]) + 64
	}
	s := g.streams[csid]
	if s == nil {
		if len(g.streams) >= maxGuardChunkStreams {
			return g.errorf("more than %d chunk streams", maxGuardChunkStreams)
		}
		s = &guardStream{}
		g.streams[csid] = s
	}
	if s.completed {
		s.got, s.completed = 0, false
	}
	if fmtType := h[0] >> 6; fmtType <= 1 {
		s.msgLen = u24(h[b+3:])
		s.typeID = h[b+6]
	}
	amf := s.typeID == msgTypeDataAMF0 || s.typeID == msgTypeCommandAMF0
	if s.got == 0 {
		s.buffering = amf || s.typeID == msgTypeSetChunkSize
		s.buf = s.buf[:0]
	} else if (amf || s.typeID == msgTypeSetChunkSize) && !s.buffering {
		return g.errorf("message type changed to %d mid-message", s.typeID)
	}
	switch {
	case s.msgLen-s.got <= 0:
		// go-rtmp panics ("invalid state") on this.
		return g.errorf("chunk for a message of %d bytes with %d already read", s.msgLen, s.got)
	case s.buffering && s.msgLen > maxAMFMessageBytes:
		return fmt.Errorf("message type %d of %d bytes (max %d): %w", s.typeID, s.msgLen, maxAMFMessageBytes, ErrMessageTooLarge)
	case s.msgLen > g.maxMessage:
		return fmt.Errorf("message of %d bytes (max %d): %w", s.msgLen, g.maxMessage, ErrMessageTooLarge)
	}
	g.cur = s
	g.payloadLeft = min(s.msgLen-s.got, g.chunkSize)
	return nil
}

func (g *chunkGuard) complete(s *guardStream) error {
	s.completed = true
	g.pending -= s.got
	defer func() {
		if cap(s.buf) > 4<<10 {
			s.buf = nil // do not keep a large buffer per chunk stream
		}
	}()
	switch s.typeID {
	case msgTypeSetChunkSize:
		if len(s.buf) < 4 {
			return g.errorf("short SetChunkSize")
		}
		v := binary.BigEndian.Uint32(s.buf)
		if v&0x80000000 != 0 || v == 0 {
			return g.errorf("SetChunkSize %#x", v)
		}
		g.chunkSize = int(min(v, maxRTMPChunkSize))
	case msgTypeDataAMF0, msgTypeCommandAMF0:
		if err := checkAMF0(s.buf); err != nil {
			return fmt.Errorf("amf0 message type %d: %w", s.typeID, err)
		}
	}
	return nil
}

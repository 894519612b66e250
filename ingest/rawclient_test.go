package ingest_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/handshake"
	"github.com/yutopp/go-rtmp/message"
)

// dialFrom dials addr from the loopback address src (127.0.0.N: Linux
// routes all of 127.0.0.0/8 to lo, so each is a distinct client address).
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return d.Dial("tcp", addr)
}

// handshakeFrom dials from src and completes the RTMP handshake.
func handshakeFrom(src, addr string) (net.Conn, error) {
	c, err := dialFrom(src, addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// chunk returns one fmt-0 chunk carrying a whole message (the caller makes
// sure it fits the chunk size in force).
func chunk(csid byte, typeID byte, streamID uint32, payload []byte) []byte {
	h := []byte{csid & 0x3f, 0, 0, 0, byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typeID, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(h[8:], streamID)
	return append(h, payload...)
}

// setChunkSize is a SetChunkSize message.
func setChunkSize(n uint32) []byte {
	return chunk(2, 1, 0, binary.BigEndian.AppendUint32(nil, n))
}

// command is an AMF0 command message of name, transaction id and args.
func command(t *testing.T, streamID uint32, name string, tx int, args ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := message.NewAMFEncoder(&b, message.EncodingTypeAMF0)
	for _, v := range append([]any{name, tx}, args...) {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	return chunk(3, 20, streamID, b.Bytes())
}

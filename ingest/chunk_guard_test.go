package ingest

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/yutopp/go-rtmp/message"
)

func TestIPKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 5000}, "203.0.113.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:203.0.113.7"), Port: 5000}, "203.0.113.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 5000}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 5000}, "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "@x", Net: "unix"}, "@x"},
	} {
		if got := ipKey(tc.addr); got != tc.want {
			t.Errorf("ipKey(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, key, want string }{
		{`application "sk_abc123", want "live"`, "", `application "[redacted]", want "live"`},
		{`live/mt_tok-1.x?y`, "", `live/[redacted]?y`},
		{`rtmp://h/live?key=SK_ABC&x=1`, "", `rtmp://h/live?key=[redacted]&x=1`},
		{`Objs:[<nil> xxtk_ticket]`, "", `Objs:[<nil> [redacted]]`},
		{`plainkey42 in text`, "plainkey42", `[key] in text`},
		{`nothing secret here`, "", `nothing secret here`},
	} {
		if got := redact(tc.in, tc.key); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := truncate("aé", 2); got != "a…" {
		t.Errorf("truncate split a rune: %q", got)
	}
}

// amfValues encodes vs as consecutive AMF0 values.
func amfValues(t testing.TB, vs ...any) []byte {
	var b bytes.Buffer
	enc := message.NewAMFEncoder(&b, message.EncodingTypeAMF0)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

var amfCheckCases = []struct {
	name string
	msg  []byte
	bad  bool
}{
	{"connect", nil, false}, // filled in by amfCases
	{"strict array bomb", []byte{0x02, 0, 1, 'x', 0x0a, 0x7f, 0xff, 0xff, 0xff}, true},
	{"strict array just fits", []byte{0x0a, 0, 0, 0, 2, 0x05, 0x05}, false},
	{"strict array over the bytes", []byte{0x0a, 0, 0, 0, 9, 0x05, 0x05}, true},
	{"strict array over MaxInt32 (go-amf0 refuses)", []byte{0x0a, 0xff, 0xff, 0xff, 0xff}, false},
	{"bomb after an unsupported marker is never decoded", []byte{0x06, 0x0a, 0x7f, 0xff, 0xff, 0xff}, false},
	{"bomb inside an ECMA array", []byte{0x08, 0, 0, 0, 1, 0, 1, 'k', 0x0a, 0x7f, 0, 0, 0, 0, 0, 9}, true},
	{"deep nesting", bytes.Repeat([]byte{0x03, 0, 1, 'a'}, 100), true},
	{"truncated", []byte{0x02, 0, 9, 'a'}, false},
}

func amfCases(t testing.TB) {
	amfCheckCases[0].msg = amfValues(t, "connect", 1, map[string]any{"app": "live", "tcUrl": "rtmp://h/live", "fpad": false, "list": []any{1.0, "x", nil}})
}

func TestCheckAMF0(t *testing.T) {
	amfCases(t)
	for _, tc := range amfCheckCases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkAMF0(tc.msg)
			if (err != nil) != tc.bad {
				t.Fatalf("checkAMF0 = %v, want bad %v", err, tc.bad)
			}
			if err != nil && !errors.Is(err, ErrMalformedChunk) {
				t.Fatalf("error %v is not ErrMalformedChunk", err)
			}
		})
	}
}

// FuzzCheckAMF0: whatever checkAMF0 accepts, go-amf0 decodes (value after
// value, as go-rtmp does) without allocating out of proportion — a miss
// would abort the fuzzer with an out-of-memory error.
func FuzzCheckAMF0(f *testing.F) {
	amfCases(f)
	for _, tc := range amfCheckCases {
		f.Add(tc.msg)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxAMFMessageBytes || checkAMF0(b) != nil {
			return
		}
		dec := message.NewAMFDecoder(bytes.NewReader(b), message.EncodingTypeAMF0)
		for i := 0; i < len(b); i++ {
			var v any
			if dec.Decode(&v) != nil {
				return
			}
		}
	})
}

// guardInput is a publisher's chunk stream: a chunk-size change, a connect
// split over 128-byte chunks, audio/video with fmt 1-3 headers, an
// extended timestamp and a two-byte chunk stream id.
func guardInput(t testing.TB) []byte {
	b := make([]byte, handshakeBytes)
	connect := amfValues(t, "connect", 1, map[string]any{"app": "live", "tcUrl": strings.Repeat("x", 300)})
	b = append(b, 0x03, 0, 0, 0, 0, byte(len(connect)>>8), byte(len(connect)), 20, 0, 0, 0, 0)
	for i := 0; i < len(connect); i += 128 {
		if i > 0 {
			b = append(b, 0xc3)
		}
		b = append(b, connect[i:min(i+128, len(connect))]...)
	}
	b = append(b, 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0) // SetChunkSize 4096
	b = append(b, 0x06, 0xff, 0xff, 0xff, 0, 0x10, 0, 9, 1, 0, 0, 0, 0, 0, 0, 1)
	b = append(b, make([]byte, 4096)...)
	b = append(b, 0x46, 0, 0, 33, 0, 0, 5, 8, 1, 2, 3, 4, 5) // fmt 1, audio
	b = append(b, 0x86, 0, 0, 33, 1, 2, 3, 4, 5)             // fmt 2
	b = append(b, 0xc6, 1, 2, 3, 4, 5)                       // fmt 3
	b = append(b, 0x00, 10, 0, 0, 0, 0, 0, 2, 8, 1, 0, 0, 0, 7, 7)
	return b
}

func TestChunkGuardFollowsAPublisher(t *testing.T) {
	in := guardInput(t)
	g := newChunkGuard(8 << 20)
	if err := g.feed(in); err != nil {
		t.Fatal(err)
	}
	if g.chunkSize != 4096 || g.pending != 0 || g.hdrLen != 0 || g.payloadLeft != 0 || len(g.streams) != 4 {
		t.Fatalf("guard state after the stream: chunk size %d, pending %d, hdr %d, left %d, streams %d",
			g.chunkSize, g.pending, g.hdrLen, g.payloadLeft, len(g.streams))
	}
}

// FuzzChunkGuard: the guard never panics and reaches the same verdict and
// state however the bytes are split across reads.
func FuzzChunkGuard(f *testing.F) {
	f.Add(guardInput(f), uint16(1))
	f.Add(guardInput(f), uint16(1000))
	f.Fuzz(func(t *testing.T, b []byte, step uint16) {
		whole := newChunkGuard(1 << 20)
		errWhole := whole.feed(b)
		split := newChunkGuard(1 << 20)
		var errSplit error
		n := int(step%4096) + 1
		for i := 0; i < len(b) && errSplit == nil; i += n {
			errSplit = split.feed(b[i:min(i+n, len(b))])
		}
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole: %v, split by %d: %v", errWhole, n, errSplit)
		}
		if errWhole == nil && (whole.chunkSize != split.chunkSize || whole.pending != split.pending || whole.payloadLeft != split.payloadLeft) {
			t.Fatalf("state differs when split by %d", n)
		}
	})
}

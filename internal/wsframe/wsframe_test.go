package wsframe

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// parse reads one frame as a client would (RFC 6455 section 5.2) and
// returns its opcode, payload and the bytes after it.
func parse(t *testing.T, p []byte) (fin bool, op Opcode, payload, rest []byte) {
	t.Helper()
	if len(p) < 2 {
		t.Fatalf("frame of %d bytes", len(p))
	}
	fin, op = p[0]&0x80 != 0, Opcode(p[0]&0x0F)
	if p[0]&0x70 != 0 {
		t.Fatalf("reserved bits set: %#x", p[0])
	}
	if p[1]&0x80 != 0 {
		t.Fatal("server frame masked")
	}
	n, h := uint64(p[1]&0x7F), 2
	switch n {
	case 126:
		n, h = uint64(binary.BigEndian.Uint16(p[2:])), 4
		if n < 126 {
			t.Fatalf("16-bit length %d fits in 7 bits", n)
		}
	case 127:
		n, h = binary.BigEndian.Uint64(p[2:]), 10
		if n <= 0xFFFF || n>>63 != 0 {
			t.Fatalf("64-bit length %d", n)
		}
	}
	if uint64(len(p)-h) < n {
		t.Fatalf("payload of %d bytes, header says %d", len(p)-h, n)
	}
	return fin, op, p[h : h+int(n)], p[h+int(n):]
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name string
		op   Opcode
		n    int
		want []byte
	}{
		{"empty text", OpText, 0, []byte{0x81, 0}},
		{"7-bit largest", OpText, 125, []byte{0x81, 125}},
		{"7-bit binary", OpBinary, 125, []byte{0x82, 125}},
		{"16-bit smallest", OpText, 126, []byte{0x81, 126, 0, 126}},
		{"16-bit largest", OpText, 0xFFFF, []byte{0x81, 126, 0xFF, 0xFF}},
		{"16-bit binary", OpBinary, 0xFFFF, []byte{0x82, 126, 0xFF, 0xFF}},
		{"64-bit smallest", OpText, 0x10000, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"64-bit binary", OpBinary, 0x10000, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"64-bit large", OpText, 1<<32 + 5, []byte{0x81, 127, 0, 0, 0, 1, 0, 0, 0, 5}},
		{"ping", OpPing, 0, []byte{0x89, 0}},
		{"pong", OpPong, 4, []byte{0x8A, 4}},
		{"close", OpClose, 2, []byte{0x88, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendHeader([]byte("x"), tc.op, tc.n)
			if !bytes.Equal(got[1:], tc.want) || got[0] != 'x' {
				t.Fatalf("AppendHeader = % x, want x + % x", got, tc.want)
			}
			if l := HeaderLen(tc.n); l != len(tc.want) || l > MaxHeaderLen {
				t.Fatalf("HeaderLen(%d) = %d, want %d", tc.n, l, len(tc.want))
			}
		})
	}
}

func TestFrames(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 70000} {
		payload := bytes.Repeat([]byte{'a'}, n)
		for _, tc := range []struct {
			op     Opcode
			append func(dst, payload []byte) []byte
		}{{OpText, AppendText}, {OpBinary, AppendBinary}} {
			// Two frames back to back, as a batch goes on the wire.
			p := tc.append(tc.append(nil, payload), []byte("next"))
			fin, op, got, rest := parse(t, p)
			if !fin || op != tc.op || !bytes.Equal(got, payload) {
				t.Fatalf("%d bytes: fin=%v op=%#x payload %d bytes", n, fin, op, len(got))
			}
			if _, _, got, rest = parse(t, rest); string(got) != "next" || len(rest) != 0 {
				t.Fatalf("%d bytes: second frame %q, %d trailing", n, got, len(rest))
			}
		}
	}
}

func TestClose(t *testing.T) {
	long := strings.Repeat("r", 200)
	// "é" is two bytes: cutting at 123 would split the one that starts at 122.
	split := strings.Repeat("r", 122) + "éé"
	tests := []struct {
		name       string
		code       int
		reason     string
		wantReason string
	}{
		{"no reason", 1000, "", ""},
		{"reason", 1013, "too slow", "too slow"},
		{"application code", 4001, "ticket_revoked", "ticket_revoked"},
		{"longest", 1008, long[:123], long[:123]},
		{"too long", 1008, long, long[:123]},
		{"cut at a character", 1008, split, split[:122]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fin, op, payload, rest := parse(t, AppendClose(nil, tc.code, tc.reason))
			if !fin || op != OpClose || len(rest) != 0 || len(payload) > MaxControlPayload {
				t.Fatalf("fin=%v op=%#x payload %d bytes, %d trailing", fin, op, len(payload), len(rest))
			}
			if code := int(binary.BigEndian.Uint16(payload)); code != tc.code {
				t.Fatalf("code %d, want %d", code, tc.code)
			}
			if got := string(payload[2:]); got != tc.wantReason {
				t.Fatalf("reason %q, want %q", got, tc.wantReason)
			}
		})
	}
	if got := AppendClose(nil, 0, "ignored"); !bytes.Equal(got, []byte{0x88, 0}) {
		t.Fatalf("close without status: % x", got)
	}
}

// Appending reuses dst's room: encoding a batch into a reused buffer does
// not allocate.
func TestAppendReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 256)
	payload := []byte(`{"type":"message"}`)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendText(buf[:0], payload)
		b = AppendClose(b, 1000, "bye")
		_ = AppendHeader(b, OpPing, 0)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
}

// FuzzFrames: every frame AppendFrame makes is one well-formed frame that
// gives its payload back.
func FuzzFrames(f *testing.F) {
	for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000} {
		f.Add(byte(OpText), bytes.Repeat([]byte{'a'}, n))
	}
	f.Add(byte(OpBinary), []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, op byte, payload []byte) {
		o := Opcode(op & 0x0F)
		fin, got, p, rest := parse(t, AppendFrame(nil, o, payload))
		if !fin || got != o || !bytes.Equal(p, payload) || len(rest) != 0 {
			t.Fatalf("op %#x, %d bytes: fin=%v op=%#x payload %d, %d trailing", o, len(payload), fin, got, len(p), len(rest))
		}
	})
}

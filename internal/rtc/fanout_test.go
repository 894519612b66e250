package rtc

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

// queue puts one (already encrypted) packet for d in f, as WriteRTP does
// after encrypting into f's buffer.
func queue(f *Fanout, d *UDPDest, pkt []byte) {
	f.room(len(pkt))
	off := len(f.buf)
	f.buf = append(f.buf, pkt...)
	f.add(d, off, len(f.buf))
}

// pkt is packet k of viewer v, n bytes, its bytes saying whose it is.
func pkt(v, k, n int) []byte {
	b := bytes.Repeat([]byte{byte(v)}, n)
	binary.BigEndian.PutUint32(b, uint32(v))
	binary.BigEndian.PutUint32(b[4:], uint32(k))
	return b
}

// fanoutViewers opens n UDP sockets on host (plain reads: one datagram per
// packet) and returns them.
func fanoutViewers(t *testing.T, host string, n int) []*net.UDPConn {
	t.Helper()
	var vs []*net.UDPConn
	for range n {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
		if err != nil {
			t.Fatalf("listen on %s: %v", host, err)
		}
		_ = c.SetReadBuffer(1 << 20)
		t.Cleanup(func() { c.Close() })
		vs = append(vs, c)
	}
	return vs
}

// recvAll reads what c received until it has been quiet for a moment.
func recvAll(c *net.UDPConn) [][]byte {
	var got [][]byte
	b := make([]byte, 2048)
	for {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(b)
		if err != nil {
			return got
		}
		got = append(got, append([]byte(nil), b[:n]...))
	}
}

// The WebRTC pattern per viewer: a frame of two slices (FU-A packets, the
// last of each shorter), then an audio packet.
var fanoutPattern = []int{1200, 1200, 1200, 1200, 400, 1200, 1200, 300, 160}

func TestFanoutDeliversEveryViewersPacketsInFewCalls(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		gso        bool
	}{
		{"ipv4", "127.0.0.1", true},
		{"ipv6", "::1", true},
		{"ipv4 without GSO", "127.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := listenBatchConn(net.ParseIP(tc.host), 0)
			if err != nil {
				t.Fatalf("listen on %s: %v (IPv6 loopback must be up for this test)", tc.host, err)
			}
			defer conn.Close()
			if !tc.gso {
				conn.gso.Store(false)
			}
			const n, frames = 40, 3
			vs := fanoutViewers(t, tc.host, n)
			dests := make([]*UDPDest, n)
			for i, v := range vs {
				dests[i] = conn.dest(v.LocalAddr().(*net.UDPAddr).AddrPort())
			}
			f := NewFanout()
			var calls, packets int
			for range frames {
				// One pass: every viewer's frame, then one Flush, as
				// the fan-out loop does.
				for i, d := range dests {
					for _, size := range fanoutPattern {
						queue(f, d, pkt(i, int(d.packets.Load())+countQueued(f, d), size))
					}
				}
				c, p := f.Flush()
				calls, packets = calls+c, packets+p
			}
			want := n * frames * len(fanoutPattern)
			if packets != want {
				t.Fatalf("Flush reports %d packets, want %d", packets, want)
			}
			// Per viewer and pass 3 GSO messages (a slice, a slice,
			// the audio packet), or 9 single packets without GSO; 64
			// messages per sendmmsg.
			perViewer := 3
			if !tc.gso {
				perViewer = len(fanoutPattern)
			}
			if most := frames * ((n*perViewer + fanoutMsgs - 1) / fanoutMsgs); calls > most {
				t.Errorf("%d system calls for %d packets to %d viewers, want at most %d (sendmmsg)", calls, want, n, most)
			}
			for i, v := range vs {
				got := recvAll(v)
				if len(got) != frames*len(fanoutPattern) {
					t.Fatalf("viewer %d received %d packets, want %d", i, len(got), frames*len(fanoutPattern))
				}
				for k, g := range got {
					size := fanoutPattern[k%len(fanoutPattern)]
					if !bytes.Equal(g, pkt(i, k, size)) {
						t.Fatalf("viewer %d packet %d: %d bytes, owner %d, number %d; want %d bytes, owner %d, number %d",
							i, k, len(g), binary.BigEndian.Uint32(g), binary.BigEndian.Uint32(g[4:]), size, i, k)
					}
				}
				sends, pk, _ := dests[i].Stats()
				if int(pk) != len(got) {
					t.Errorf("viewer %d: dest counts %d packets, received %d", i, pk, len(got))
				}
				// A viewer whose message was open when the batch
				// filled up gets one more.
				if lo := frames * perViewer; int(sends) < lo || int(sends) > lo+frames {
					t.Errorf("viewer %d: %d messages, want %d to %d", i, sends, lo, lo+frames)
				}
			}
			t.Logf("%d packets to %d viewers in %d system calls", want, n, calls)
		})
	}
}

// countQueued is how many packets f holds for d (to number them).
func countQueued(f *Fanout, d *UDPDest) int {
	n := 0
	for _, m := range f.msgs {
		if m.d == d {
			n += m.count
		}
	}
	return n
}

func TestFanoutRefusedDestinationHarmsNoOther(t *testing.T) {
	conn, err := listenBatchConn(net.IPv4zero, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	vs := fanoutViewers(t, "127.0.0.1", 3)
	// The kernel refuses a broadcast without SO_BROADCAST (EACCES): as a
	// datagram lost on the way, the viewers around it get theirs.
	bad := conn.dest(netip.MustParseAddrPort("255.255.255.255:9"))
	f := NewFanout()
	var ds []*UDPDest
	for i, v := range vs {
		d := conn.dest(v.LocalAddr().(*net.UDPAddr).AddrPort())
		ds = append(ds, d)
		queue(f, d, pkt(i, 0, 1200))
		queue(f, d, pkt(i, 1, 1200))
		queue(f, d, pkt(i, 2, 500))
		queue(f, bad, pkt(99, i, 1200))
	}
	f.Flush()
	for i, v := range vs {
		if got := recvAll(v); len(got) != 3 || !bytes.Equal(got[2], pkt(i, 2, 500)) {
			t.Errorf("viewer %d received %d packets, want its 3", i, len(got))
		}
	}
	if !conn.gso.Load() {
		t.Error("a refused destination turned GSO off for the socket")
	}
	// The socket still sends afterwards.
	queue(f, ds[0], pkt(0, 3, 100))
	f.Flush()
	if got := recvAll(vs[0]); len(got) != 1 {
		t.Errorf("after the refusal viewer 0 received %d packets, want 1", len(got))
	}
}

package rtc

import (
	"bytes"
	"errors"
	"testing"
)

func TestAACPacketizeRoundTrip(t *testing.T) {
	for _, size := range []int{1, 300, AACFragment, AACFragment + 1, 2500, aacMaxAU} {
		au := bytes.Repeat([]byte{0xab}, size)
		au[0] = 0x01
		payloads := PacketizeAAC(nil, au)
		want := (size + AACFragment - 1) / AACFragment
		if len(payloads) != want {
			t.Fatalf("AU of %d bytes: %d packets, want %d", size, len(payloads), want)
		}
		var d AACDepacketizer
		var got []AACUnit
		for i, p := range payloads {
			if len(p) > RTPMTU {
				t.Fatalf("payload of %d bytes", len(p))
			}
			units, err := d.Push(uint16(100+i), 9000, i == len(payloads)-1, p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, units...)
		}
		if len(got) != 1 || got[0].TS != 9000 || !bytes.Equal(got[0].Data, au) {
			t.Fatalf("AU of %d bytes: got %d units", size, len(got))
		}
	}
	if p := PacketizeAAC(nil, make([]byte, aacMaxAU+1)); len(p) != 0 {
		t.Fatal("an AU too large for a 13-bit size was packetized")
	}
}

func TestAACDepacketizeLossAndSeveralAUs(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 3000)
	frags := PacketizeAAC(nil, big)
	var d AACDepacketizer
	// The middle fragment is lost: that AU is dropped, the next one is
	// whole.
	if u, _ := d.Push(1, 0, false, frags[0]); u != nil {
		t.Fatal("a first fragment made an AU")
	}
	if u, _ := d.Push(3, 0, true, frags[2]); u != nil {
		t.Fatal("an AU with a lost fragment was delivered")
	}
	small := PacketizeAAC(nil, []byte{1, 2, 3})
	if u, err := d.Push(4, 1024, true, small[0]); err != nil || len(u) != 1 || !bytes.Equal(u[0].Data, []byte{1, 2, 3}) {
		t.Fatalf("AU after a loss: %v %v", u, err)
	}
	// Two AUs in one packet (other senders): timestamps 1024 apart.
	two := []byte{0, 32, 0, 2 << 3, 0, 1 << 3, 0xa, 0xb, 0xc}
	u, err := d.Push(5, 2048, true, two)
	if err != nil || len(u) != 2 || u[1].TS != 3072 || !bytes.Equal(u[0].Data, []byte{0xa, 0xb}) || !bytes.Equal(u[1].Data, []byte{0xc}) {
		t.Fatalf("two AUs: %v %v", u, err)
	}
	for _, bad := range [][]byte{{0}, {0, 0}, {0, 16}, {0, 17, 0, 0}, {0, 32, 0, 8, 0}} {
		if _, err := d.Push(6, 0, true, bad); !errors.Is(err, errAACPayload) {
			t.Fatalf("payload %x: %v", bad, err)
		}
	}
}

func TestAACConfigFromFmtp(t *testing.T) {
	cfg, err := AACConfigFromFmtp(FmtpAAC([]byte{0x12, 0x10}))
	if err != nil || cfg.SampleRate != 44100 || cfg.Channels != 2 {
		t.Fatalf("config %+v %v", cfg, err)
	}
	for _, bad := range []string{FmtpAACBase, "mode=AAC-lbr;sizelength=6;indexlength=2;config=1210", FmtpAACBase + ";config=zz"} {
		if _, err := AACConfigFromFmtp(bad); err == nil {
			t.Fatalf("fmtp %q accepted", bad)
		}
	}
}

func FuzzAACDepacketize(f *testing.F) {
	for _, p := range PacketizeAAC(nil, bytes.Repeat([]byte{1}, 2000)) {
		f.Add(p, true)
	}
	f.Add([]byte{0, 32, 0, 16, 0, 8, 1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, p []byte, marker bool) {
		var d AACDepacketizer
		_, _ = d.Push(1, 0, marker, p)
		_, _ = d.Push(2, 0, marker, p)
	})
}

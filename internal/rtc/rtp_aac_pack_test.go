package rtc

import (
	"bytes"
	"testing"
)

// Several AUs in one packet come out as the same AUs, one frame apart.
func TestPackAACRoundTrip(t *testing.T) {
	aus := [][]byte{bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{2}, 280), bytes.Repeat([]byte{3}, 310)}
	var d AACDepacketizer
	units, err := d.Push(7, 48000, true, PackAAC(aus))
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != len(aus) {
		t.Fatalf("%d AUs out of a packet of %d", len(units), len(aus))
	}
	for i, u := range units {
		if !bytes.Equal(u.Data, aus[i]) || u.TS != 48000+uint32(i*AACFrameSamples) {
			t.Fatalf("AU %d: ts %d, %d bytes; want ts %d, %d bytes", i, u.TS, len(u.Data), 48000+i*AACFrameSamples, len(aus[i]))
		}
	}
}

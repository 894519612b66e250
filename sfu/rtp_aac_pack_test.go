package sfu

import (
	"bytes"
	"testing"
)

// Several AUs in one packet come out as the same AUs, one frame apart.
func TestPackAACRoundTrip(t *testing.T) {
	aus := [][]byte{bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{2}, 280), bytes.Repeat([]byte{3}, 310)}
	var d aacDepacketizer
	units, err := d.push(7, 48000, true, packAAC(aus))
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != len(aus) {
		t.Fatalf("%d AUs out of a packet of %d", len(units), len(aus))
	}
	for i, u := range units {
		if !bytes.Equal(u.data, aus[i]) || u.ts != 48000+uint32(i*aacFrameSamples) {
			t.Fatalf("AU %d: ts %d, %d bytes; want ts %d, %d bytes", i, u.ts, len(u.data), 48000+i*aacFrameSamples, len(aus[i]))
		}
	}
}

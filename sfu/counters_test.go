package sfu_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/rtcp"
)

// TestCounters: what a viewer received, the NACK and PLI it sent, and the
// refusals by the viewer cap and the SDP size limit all show in Counters.
func TestCounters(t *testing.T) {
	r := newRig(t, sfu.Config{MaxViewers: 1})
	r.publish(t, ingesttest.Options{})
	v := r.watch(t, viewerOpts{NoAudio: true})
	wheptest.WaitFor(t, 10*time.Second, "100 video packets", func() bool {
		video, _ := v.Snapshot()
		return len(video) >= 100
	})
	video, _ := v.Snapshot()
	v.Mu.Lock()
	ssrc := v.SSRCs["video"]
	v.Mu.Unlock()
	if err := v.PC.WriteRTCP([]rtcp.Packet{
		&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: video[len(video)-20].Seq}}},
		&rtcp.PictureLossIndication{MediaSSRC: ssrc},
	}); err != nil {
		t.Fatal(err)
	}
	wheptest.WaitFor(t, 3*time.Second, "NACK and PLI counted", func() bool {
		c := r.sfu.Counters()
		return c.NACKs >= 1 && c.Retransmits >= 1 && c.PLIs >= 1
	})

	// The cap is 1: a second viewer is refused; so is an oversized offer.
	resp := wheptest.PostOffer(t, r.srv.URL+"/whep/gig1", wheptest.NewClient(t, viewerOpts{}).Offer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second viewer: %d, want 503", resp.StatusCode)
	}
	resp = wheptest.PostOffer(t, r.srv.URL+"/whep/gig1", "v=0\r\n"+strings.Repeat("a=x\r\n", 20000))
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("big offer: %d, want 413", resp.StatusCode)
	}

	video, _ = v.Snapshot()
	// The retransmission arrived twice; count each packet once.
	var bytes uint64
	seen := map[uint16]bool{}
	for _, p := range video {
		if !seen[p.Seq] {
			seen[p.Seq] = true
			bytes += uint64(len(p.Payload))
		}
	}
	c := r.sfu.Counters()
	if c.PacketsSent < uint64(len(seen)) || c.BytesSent < bytes {
		t.Fatalf("counters %+v, viewer received %d packets, %d bytes", c, len(seen), bytes)
	}
	if c.ViewerCapHits != 1 || c.SDPTooLarge != 1 || c.Dropped != 0 {
		t.Fatalf("counters %+v: want 1 cap hit, 1 SDP too large, no drops", c)
	}
}

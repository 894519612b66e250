package whip_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/webrtc/v4"
)

// TestWHIPKickClosesPublisherSession: the creator ends the show or rotates
// the key while a WHIP publisher is live (media.Registry.Kick): the session
// is closed on the server (its resource is gone) and the publisher's
// PeerConnection leaves "connected", so the browser or OBS shows it was
// stopped. The gig can go live again.
func TestWHIPKickClosesPublisherSession(t *testing.T) {
	r := newRig(t, sfu.Config{}, whip.Config{Keys: testKeys})
	p := r.whipPublish(t, "gig1", "key1")
	st := waitWHIPLive(t, r, "gig1")
	wheptest.WaitFor(t, 10*time.Second, "publisher connected", func() bool {
		return p.PC.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	kicked := time.Now()
	if !r.reg.Kick("gig1", errors.New("stream key rotated")) {
		t.Fatal("Kick found no stream")
	}
	wheptest.WaitFor(t, 2*time.Second, "whip session closed on the server", func() bool { return r.whip.Publishers() == 0 })
	t.Logf("whip session closed %v after the kick", time.Since(kicked).Round(time.Millisecond))
	if !st.Closed() {
		t.Fatal("kicked stream still open")
	}
	req, _ := http.NewRequest(http.MethodDelete, r.srv.URL+p.Location, nil)
	req.Header.Set("Authorization", "Bearer key1")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE of the kicked session: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	wheptest.WaitFor(t, 10*time.Second, "publisher's PeerConnection told", func() bool {
		return p.PC.ConnectionState() != webrtc.PeerConnectionStateConnected
	})
	t.Logf("publisher saw %s %v after the kick", p.PC.ConnectionState(), time.Since(kicked).Round(time.Millisecond))

	r.whipPublish(t, "gig1", "key1")
	waitWHIPLive(t, r, "gig1")
}

package ingest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
)

// TestKickDisconnectsLivePublisher: the creator ends the show or rotates
// the key (Registry.Kick): ffmpeg's connection is closed and it exits,
// instead of streaming on into a stream nobody reads.
func TestKickDisconnectsLivePublisher(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	kicked := time.Now()
	if !e.reg.Kick(testGig, errors.New("stream key rotated")) {
		t.Fatal("Kick found no stream")
	}
	if err := pub.Wait(t, 2*time.Second); err == nil {
		t.Fatal("kicked ffmpeg exited 0")
	}
	t.Logf("ffmpeg exited %v after the kick", time.Since(kicked).Round(time.Millisecond))
	waitFor(t, 2*time.Second, "connection closed", func() bool { return e.srv.Conns() == 0 })
	if !s.Closed() {
		t.Fatal("kicked stream still open")
	}
}

// TestKickDisconnectsSilentPublisher: a paused encoder sends nothing, so a
// failed write would never tell it; the connection closes at once anyway,
// long before the read timeout.
func TestKickDisconnectsSilentPublisher(t *testing.T) {
	e := newEnv(t, ingest.Config{ReadTimeout: 30 * time.Second})
	pub := ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	s := ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
	pub.Freeze()
	// Until what ffmpeg sent before it froze is read, a failed write would
	// still close the connection.
	waitFor(t, 5*time.Second, "publisher silent", func() bool { return time.Since(s.LastWrite()) > 500*time.Millisecond })
	e.reg.Kick(testGig, nil)
	took := waitFor(t, 2*time.Second, "connection of a silent publisher closed", func() bool { return e.srv.Conns() == 0 })
	t.Logf("silent publisher disconnected %v after the kick", took)
	// The gig can go live again right away.
	ingesttest.Publish(t, e.srv.URL(testKey), ingesttest.Options{})
	ingesttest.WaitLive(t, e.reg, testGig, 10*time.Second)
}

package sfu_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
)

func TestCloseEndsSessionsWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	reg := media.NewRegistry(media.RegistryConfig{}, nil)
	st := media.NewStream(media.StreamConfig{GigID: "gig1", Source: "test"}, nil)
	if err := reg.Publish(st); err != nil {
		t.Fatal(err)
	}
	s, err := sfu.New(sfu.Config{ICEAddr: "127.0.0.1:0", AllowPrivateCandidates: true}, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	c := wheptest.NewClient(t, viewerOpts{})
	resp, answer := wheptest.DoRequest(t, http.MethodPost, srv.URL+"/whep/gig1", "application/sdp", c.Offer, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, answer)
	}
	if err := c.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	wheptest.WaitFor(t, 10*time.Second, "connected viewer", func() bool { return st.Viewers() == 1 })
	s.Close()
	s.Close()
	if s.Viewers() != 0 || st.Viewers() != 0 {
		t.Fatalf("after Close: %d sessions, %d counted viewers", s.Viewers(), st.Viewers())
	}
	c2 := wheptest.NewClient(t, viewerOpts{})
	resp, _ = wheptest.DoRequest(t, http.MethodPost, srv.URL+"/whep/gig1", "application/sdp", c2.Offer, nil)
	_ = c2.PC.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST after Close = %d, want 503", resp.StatusCode)
	}
	srv.Close()
	_ = c.PC.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

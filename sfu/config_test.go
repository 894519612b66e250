package sfu_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  sfu.Config
	}{
		{"no port", sfu.Config{ICEAddr: "127.0.0.1"}},
		{"host name", sfu.Config{ICEAddr: "localhost:0"}},
		{"every interface needs a port", sfu.Config{ICEAddr: ":0"}},
		{"bad public ip", sfu.Config{ICEAddr: "127.0.0.1:0", PublicIPs: []string{"example.com"}}},
		{"bad ice server", sfu.Config{ICEAddr: "127.0.0.1:0", ICEServers: []sfu.ICEServer{{URLs: []string{"http://stun.example"}}}}},
		{"negative cap", sfu.Config{ICEAddr: "127.0.0.1:0", MaxViewers: -1}},
	}
	reg := media.NewRegistry(media.RegistryConfig{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sfu.New(tt.cfg, reg, nil)
			if err == nil {
				s.Close()
				t.Fatal("New accepted an invalid config")
			}
			if !errors.Is(err, sfu.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestNewOnEveryInterface(t *testing.T) {
	// A free port number for both UDP and TCP.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	reg := media.NewRegistry(media.RegistryConfig{}, nil)
	st := media.NewStream(media.StreamConfig{GigID: "gig1"}, nil)
	if err := reg.Publish(st); err != nil {
		t.Fatal(err)
	}
	s, err := sfu.New(sfu.Config{ICEAddr: ":" + strconv.Itoa(port), IncludeLoopback: true}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	v := wheptest.NewClient(t, viewerOpts{})
	defer v.PC.Close()
	resp, answer := wheptest.DoRequest(t, http.MethodPost, srv.URL+"/whep/gig1", "application/sdp", v.Offer, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, answer)
	}
	if err := v.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	wheptest.WaitFor(t, 10*time.Second, "a viewer connected through the per-interface sockets", func() bool { return st.Viewers() == 1 })
	if s.ICEPort() != port {
		t.Fatalf("ice port %d, want %d", s.ICEPort(), port)
	}
	// The TCP side listens on the same port number.
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("ice-tcp not listening: %v", err)
	}
	c.Close()
}

package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/syncbuf"
)

// TestShutdownLeavesNoGoroutine runs the server in this process with a live
// show, an FLV player, a WebRTC viewer and a chat client, shuts it down as
// SIGTERM does, and checks that every goroutine it started has ended.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	httpPort, rtmpPort, rtcPort := freePort(t), freePort(t), freeUDPPort(t)
	cfg, err := parseConfig([]string{
		"--http-addr", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--rtmp-addr", "127.0.0.1:" + strconv.Itoa(rtmpPort),
		"--webrtc-port", strconv.Itoa(rtcPort),
	}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx) }()
	n := &node{t: t, HTTP: "http://127.0.0.1:" + strconv.Itoa(httpPort), RTMP: "rtmp://127.0.0.1:" + strconv.Itoa(rtmpPort) + "/live", logs: &logs}

	g := n.createGig(t, "In-process show")
	pub := ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)
	resp, err := http.Get(n.HTTP + "/live/" + g.ID + ".flv")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	go func() { _, _ = io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
	cc := n.chat(t, g.ID)
	cc.join("Ann", nil)
	v := n.watchWHEP(t, g.ID)
	waitFor(t, 15*time.Second, "WebRTC video", func() bool { return v.video.Load() > 30 })
	during := runtime.NumGoroutine()

	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	start := time.Now()
	a.shutdown()
	t.Logf("shutdown took %s", time.Since(start).Round(time.Millisecond))
	cc.next("restarting", 2*time.Second)

	// The test's own clients go too, then only what ran before is left.
	pub.Kill()
	_ = v.pc.Close()
	cc.c.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines before, %d during, %d after shutdown:\n%s", before, during, runtime.NumGoroutine(), serverStacks(buf))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("goroutines: %d before, %d during the show, %d after shutdown", before, during, runtime.NumGoroutine())
}

// serverStacks keeps the goroutine dumps that mention the project's code.
func serverStacks(all []byte) string {
	var out []string
	for _, g := range bytes.Split(all, []byte("\n\n")) {
		if bytes.Contains(g, []byte("bookmygig/")) || bytes.Contains(g, []byte("pion/")) {
			out = append(out, string(g))
		}
	}
	return strings.Join(out, "\n\n")
}

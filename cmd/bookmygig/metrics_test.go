package main

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
)

// scrapeMetrics returns GET /metrics as one sample per series line.
func scrapeMetrics(t *testing.T, n *node) (string, map[string]float64) {
	t.Helper()
	resp, err := http.Get(n.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		samples[line[:i]] = v
	}
	return string(raw), samples
}

// TestMetricsEndToEnd: a show live from ffmpeg over RTMP with one FLV
// viewer and one chatter shows up in GET /metrics, without any secret.
func TestMetricsEndToEnd(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	n := startNode(t)
	g := n.createGig(t, "Metrics night")
	ingesttest.Publish(t, n.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	n.waitStatus(t, g.ID, "live", 15*time.Second)

	resp, err := http.Get(n.HTTP + "/live/" + g.ID + ".flv")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	defer resp.Body.Close()
	read := make(chan int64, 1)
	go func() {
		// The viewer stays connected (and counted) after the read.
		n, _ := io.CopyN(io.Discard, resp.Body, 1<<40)
		read <- n
	}()

	cc := n.chat(t, g.ID)
	cc.join("Ann", nil)
	cc.send(map[string]any{"type": "message", "text": "hello metrics"})
	if m := cc.next("message", 5*time.Second); m["text"] != "hello metrics" {
		t.Fatalf("chat echo: %v", m)
	}
	n.gig(t, g.ID)
	time.Sleep(3 * time.Second) // the FLV viewer reads a few seconds

	body, s := scrapeMetrics(t, n)
	checks := []struct {
		series string
		ok     func(float64) bool
		want   string
	}{
		{`bmg_live_streams{source="rtmp"}`, func(v float64) bool { return v == 1 }, "1"},
		{`bmg_live_streams{source="whip"}`, func(v float64) bool { return v == 0 }, "0"},
		{`bmg_viewers{protocol="flv"}`, func(v float64) bool { return v == 1 }, "1"},
		{`bmg_viewers{protocol="chat"}`, func(v float64) bool { return v == 1 }, "1"},
		{`bmg_viewers{protocol="webrtc"}`, func(v float64) bool { return v == 0 }, "0"},
		{`bmg_sent_bytes_total{protocol="flv"}`, func(v float64) bool { return v > 10000 }, "> 10000"},
		{`bmg_sent_packets_total{protocol="flv"}`, func(v float64) bool { return v > 50 }, "> 50"},
		{`bmg_transcode_frames_in_total{direction="aac_opus"}`, func(v float64) bool { return v > 0 }, "> 0"},
		{`bmg_transcode_frames_out_total{direction="aac_opus"}`, func(v float64) bool { return v > 0 }, "> 0"},
		{`bmg_transcode_cpu_seconds_total{direction="aac_opus"}`, func(v float64) bool { return v > 0 }, "> 0"},
		{`bmg_chat_messages_total{origin="local"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`bmg_rtmp_connections`, func(v float64) bool { return v == 1 }, "1"},
		{`bmg_limit_hits_total{limit="chat_rate"}`, func(v float64) bool { return v == 0 }, "0"},
		{`bmg_store_unavailable_total`, func(v float64) bool { return v == 0 }, "0"},
		{`bmg_http_request_duration_seconds_count{method="GET",route="/api/gigs/:id",status="200"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`bmg_http_request_duration_seconds_count{method="POST",route="/api/gigs",status="201"}`, func(v float64) bool { return v == 1 }, "1"},
		{`go_goroutines`, func(v float64) bool { return v > 0 }, "> 0"},
		{`process_cpu_seconds_total`, func(v float64) bool { return v > 0 }, "> 0"},
	}
	for _, c := range checks {
		v, ok := s[c.series]
		if !ok {
			t.Errorf("%s missing", c.series)
		} else if !c.ok(v) {
			t.Errorf("%s = %g, want %s", c.series, v, c.want)
		}
	}
	for name, secret := range map[string]string{"stream key": g.Credentials.StreamKey, "manage token": g.Credentials.ManageToken} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics contains the %s", name)
		}
	}
	if strings.Contains(body, "/api/gigs/"+g.ID) {
		t.Error("/metrics has a raw URL as a route")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if code := n.do(t, http.MethodGet, "/api/openapi.json", "", nil, &doc); code != http.StatusOK || doc.Paths["/metrics"] == nil {
		t.Errorf("OpenAPI document does not list /metrics (%d)", code)
	}
	n.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
}

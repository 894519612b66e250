package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func fakeSources() Sources {
	return Sources{
		Streams: func() map[string]int { return map[string]int{"rtmp": 2, "whip": 1} },
		Viewers: func() map[string]int { return map[string]int{"webrtc": 3, "flv": 1, "ws-flv": 4, "chat": 5} },
		Sent: func() map[string]Traffic {
			return map[string]Traffic{"webrtc": {Packets: 10, Bytes: 12000}, "flv": {Packets: 7, Bytes: 900}}
		},
		Slow: func() map[string]Slow {
			return map[string]Slow{"webrtc": {Skipped: 2, Dropped: 1}, "flv": {Skipped: 3, Dropped: 4}}
		},
		WebRTC: func() WebRTC {
			return WebRTC{NACKs: 11, Retransmits: 9, PLIs: 2, FanoutSyscalls: 7, FanoutPackets: 1400}
		},
		Transcode: func() map[string]Transcode {
			return map[string]Transcode{"aac_opus": {FramesIn: 100, FramesOut: 90, Dropped: 1, Busy: 1500 * time.Millisecond}}
		},
		Chat:             func() Chat { return Chat{Local: 6, Remote: 2, Evicted: 1, RateLimited: 3} },
		RTMP:             func() RTMP { return RTMP{Conns: 2, KeysRefused: 1} },
		StoreUnavailable: func() uint64 { return 4 },
		Limits: func() map[string]uint64 {
			return map[string]uint64{LimitChatRate: 3, LimitSDPTooLarge: 1, LimitRTMPMaxConns: 0}
		},
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExposition(t *testing.T) {
	m := New(fakeSources(), nil)
	m.ObserveRequest("GET", "/api/gigs/:id", 200, 3*time.Millisecond)
	m.ObserveRequest("GET", "/api/gigs/:id", 200, 30*time.Millisecond)
	m.ObserveRequest("BREW", "", 404, time.Millisecond)
	body := scrape(t, m)

	for _, want := range []string{
		`bmg_live_streams{source="rtmp"} 2`,
		`bmg_live_streams{source="whip"} 1`,
		`bmg_viewers{protocol="webrtc"} 3`,
		`bmg_viewers{protocol="flv"} 1`,
		`bmg_viewers{protocol="ws-flv"} 4`,
		`bmg_viewers{protocol="chat"} 5`,
		`bmg_sent_packets_total{protocol="webrtc"} 10`,
		`bmg_sent_bytes_total{protocol="webrtc"} 12000`,
		`bmg_sent_bytes_total{protocol="flv"} 900`,
		`bmg_slow_viewer_skips_total{protocol="flv"} 3`,
		`bmg_stalled_viewers_dropped_total{protocol="webrtc"} 1`,
		`bmg_webrtc_nacks_received_total 11`,
		`bmg_webrtc_retransmits_total 9`,
		`bmg_webrtc_plis_received_total 2`,
		`bmg_webrtc_fanout_syscalls_total 7`,
		`bmg_webrtc_fanout_packets_total 1400`,
		`bmg_transcode_cpu_seconds_total{direction="aac_opus"} 1.5`,
		`bmg_transcode_frames_in_total{direction="aac_opus"} 100`,
		`bmg_transcode_frames_out_total{direction="aac_opus"} 90`,
		`bmg_transcode_frames_dropped_total{direction="aac_opus"} 1`,
		`bmg_chat_messages_total{origin="local"} 6`,
		`bmg_chat_messages_total{origin="remote"} 2`,
		`bmg_chat_slow_clients_evicted_total 1`,
		`bmg_chat_rate_limited_total 3`,
		`bmg_rtmp_connections 2`,
		`bmg_rtmp_publish_refused_total 1`,
		`bmg_store_unavailable_total 4`,
		`bmg_limit_hits_total{limit="chat_rate"} 3`,
		`bmg_limit_hits_total{limit="sdp_too_large"} 1`,
		`bmg_limit_hits_total{limit="rtmp_max_conns"} 0`,
		"# TYPE bmg_live_streams gauge",
		"# TYPE bmg_sent_bytes_total counter",
		"# TYPE bmg_http_request_duration_seconds histogram",
		"# HELP bmg_store_unavailable_total API requests answered 503",
		`bmg_http_request_duration_seconds_count{method="GET",route="/api/gigs/:id",status="200"} 2`,
		`bmg_http_request_duration_seconds_bucket{method="GET",route="/api/gigs/:id",status="200",le="0.005"} 1`,
		`bmg_http_request_duration_seconds_count{method="other",route="unmatched",status="404"} 1`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	// Every bmg_ family has help text.
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "# TYPE bmg_") {
			name := strings.Fields(line)[2]
			if !strings.Contains(body, "# HELP "+name+" ") {
				t.Errorf("%s has no HELP", name)
			}
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestNilSourcesLeaveMetricsOut(t *testing.T) {
	body := scrape(t, New(Sources{Viewers: func() map[string]int { return map[string]int{"flv": 1} }}, nil))
	if !strings.Contains(body, `bmg_viewers{protocol="flv"} 1`) {
		t.Errorf("viewers missing:\n%s", body)
	}
	for _, absent := range []string{"bmg_live_streams", "bmg_webrtc_nacks_received_total", "bmg_chat_messages_total"} {
		if strings.Contains(body, absent) {
			t.Errorf("%s exposed without a source", absent)
		}
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	// Two servers in one process (tests) must not collide on registration.
	a, b := New(fakeSources(), nil), New(fakeSources(), nil)
	a.ObserveRequest("GET", "/healthz", 200, time.Millisecond)
	if strings.Contains(scrape(t, b), `route="/healthz"`) {
		t.Error("b sees a's request")
	}
}

//go:build bench

package sfu_test

// The WebRTC fan-out benchmark: go test -tags bench -run TestWHEPFanoutBench
// -v ./sfu/ (bench/whep.sh runs it). One in-process server (RTMP ingest,
// transcoder, sfu), one publisher of a pre-encoded 720p30 ~2.5 Mbit/s H.264
// clip with a 4 s GOP, and bench/whepload in a separate process with N pion
// viewers. The server is pinned to CPU 0 and whepload to CPU 1 when taskset
// exists. Server CPU comes from getrusage(RUSAGE_SELF) of this process,
// memory from the Go runtime and /proc, as deltas against the same server
// and publisher with no viewers.
//
// WHEP_BENCH_SOURCE picks the publisher:
//   - rtmp (default): ffmpeg sends the clip with AAC over RTMP (-c copy, a
//     separate process); the server transcodes AAC -> Opus.
//   - whip: a pion WHIP publisher in this process replays the clip (x264
//     with SPS/PPS before every IDR, libopus audio) at real time and, like
//     a browser, answers a PLI with the clip's next IDR; the server
//     forwards its RTP and transcodes Opus -> AAC for FLV. Its own CPU
//     is in the baseline. whepload's PLI phase (WHEP_BENCH_PLI viewers,
//     default 10) then measures a viewer's PLI -> first keyframe.
//
// A run fails when fewer viewers than asked received a frame, or when no
// packets arrived in the window.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/benchproc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/bookmygig/bookmygig/transcode"
)

type whepLoadResult struct {
	Viewers       int     `json:"viewers"`
	Connected     int     `json:"connected"`
	Failed        int     `json:"failed"`
	Received      int64   `json:"received_packets"`
	MbpsPerViewer float64 `json:"mbps_per_viewer"`
	PktsPerViewer float64 `json:"pkts_per_s_per_viewer"`
	Lost          int64   `json:"lost_packets"`
	LostTotal     int64   `json:"lost_packets_total"`
	TTFFP50       float64 `json:"ttff_p50_ms"`
	TTFFP95       float64 `json:"ttff_p95_ms"`
	P50           float64 `json:"latency_p50_ms"`
	P95           float64 `json:"latency_p95_ms"`
	P99           float64 `json:"latency_p99_ms"`
	ReadP99       float64 `json:"read_latency_p99_ms"`
	Kind          string  `json:"latency_kind"`
	Unmatched     int     `json:"latency_unmatched_viewers"`
	LoadCPU       float64 `json:"load_cpu_pct"`
	PLIViewers    int     `json:"pli_viewers"`
	PLIMeasured   int     `json:"pli_measured"`
	PLIP50        float64 `json:"pli_to_key_p50_ms"`
	PLIP95        float64 `json:"pli_to_key_p95_ms"`
	PLIMax        float64 `json:"pli_to_key_max_ms"`
}

// frameTimes records when the server received each video frame, for
// whepload's server-latency figure.
type frameTimes struct {
	mu        sync.Mutex
	frames    map[string]int64
	keyframes []int64
}

func (r *frameTimes) OnTrack(*media.Track) {}

func (r *frameTimes) OnFrame(f *media.Frame) {
	if f.Codec != media.CodecH264 {
		return
	}
	now := time.Now().UnixMicro()
	ms := f.PTS().Milliseconds()
	r.mu.Lock()
	r.frames[strconv.FormatInt(ms, 10)] = now
	if f.Keyframe {
		r.keyframes = append(r.keyframes, ms)
	}
	r.mu.Unlock()
}

func (r *frameTimes) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"frames": r.frames, "keyframes": r.keyframes})
}

func TestWHEPFanoutBench(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	source := os.Getenv("WHEP_BENCH_SOURCE")
	if source == "" {
		source = "rtmp"
	}
	if source != "rtmp" && source != "whip" {
		t.Fatalf("WHEP_BENCH_SOURCE=%q: want rtmp or whip", source)
	}
	pliViewers := 0
	if source == "whip" {
		pliViewers = 10
		if s := os.Getenv("WHEP_BENCH_PLI"); s != "" {
			pliViewers, _ = strconv.Atoi(s)
		}
	}
	counts, err := benchproc.Counts("WHEP_BENCH_N", 1, 50, 100, 200, 300)
	if err != nil {
		t.Fatal(err)
	}
	window, err := benchproc.Duration("WHEP_BENCH_WINDOW", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := benchproc.Build("../bench/whepload", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The kernel floor of the same packet pattern, measured after each N
	// in the same run: the ratio is what issue #19's goal is stated in.
	floorBin, err := benchproc.Build("../bench/floor", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("WHEP_BENCH_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	reg := media.NewRegistry(media.RegistryConfig{}, log)
	var tcs []*transcode.Transcoder
	reg.OnEvent(func(ev media.Event) {
		if ev.Type == media.Published {
			if tc, err := transcode.Start(ev.Stream, transcode.Config{}, log); err == nil {
				tcs = append(tcs, tc)
			}
		}
	})
	rtmp := ingesttest.StartServer(t, ingest.Config{}, ingesttest.Keys{"bench": "bench"}, reg, log)
	cfg := sfu.Config{ICEAddr: "127.0.0.1:0", AllowPrivateCandidates: true,
		// Every load viewer comes from 127.0.0.1.
		MaxSessionsPerIP: -1, OfferRate: -1,
		// WHEP_BENCH_PION=1: viewers on pion's PeerConnection instead of
		// icelite, to compare the two transports.
		PionViewers: os.Getenv("WHEP_BENCH_PION") == "1"}
	s, err := sfu.New(cfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ws := startWHIP(t, s, cfg, whip.Config{Keys: whiptest.Keys{"bench": "bench"}}, reg, log)
	mux := http.NewServeMux()
	mux.Handle("/whep/", s.Handler())
	mux.Handle("/whip/", ws.Handler())
	rec := &frameTimes{frames: make(map[string]int64)}
	mux.Handle("GET /bench/ingest-times", rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		for _, tc := range tcs {
			tc.Close()
		}
	})
	url := "http://" + ln.Addr().String() + "/whep/bench"

	// Pre-encoded: the encoder's CPU and timing jitter stay out of the
	// numbers. 4 s GOP: time to first frame must not depend on it.
	sourceDesc := "RTMP (ffmpeg -c copy), AAC->Opus"
	if source == "whip" {
		sourceDesc = "WHIP (pion publisher in the server process), Opus (+ Opus->AAC for FLV)"
		clip, err := whiptest.MakeClip(whiptest.ClipOpts{Size: "1280x720", GOP: 120, Bitrate: "2500k", Seconds: 20})
		if err != nil {
			t.Fatal(err)
		}
		whiptest.Publish(t, "http://"+ln.Addr().String(), "bench", "bench", clip)
	} else {
		clip := ingesttest.EncodeClip(t, t.TempDir(), ingesttest.Options{Width: 1280, Height: 720, GOP: 120, VideoBitrate: "2500k"}, 20*time.Second)
		ingesttest.Publish(t, rtmp.URL("bench"), ingesttest.Options{File: clip})
	}
	stream := ingesttest.WaitLive(t, reg, "bench", 15*time.Second)
	detach, err := stream.Attach(rec, false)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()

	loadPrefix, err := benchproc.Pin()
	if err != nil {
		t.Logf("unpinned: %v", err)
	}
	time.Sleep(3 * time.Second)

	mem0, rss0 := benchproc.GoMem(), benchproc.RSS()
	u0, s0 := benchproc.CPU()
	time.Sleep(window)
	u1, s1 := benchproc.CPU()
	idle, idleSys := u1-u0+s1-s0, s1-s0
	fmt.Printf("\nWebRTC (WHEP) fan-out from %s, 720p30 ~2.5 Mbit/s H.264, 4 s GOP, %v window, viewers on %s, server GOMAXPROCS %d pinned=%v\n",
		sourceDesc, window, map[bool]string{false: "icelite", true: "pion (WHEP_BENCH_PION=1)"}[cfg.PionViewers], runtime.GOMAXPROCS(0), len(loadPrefix) > 0)
	fmt.Printf("baseline (%s ingest + transcode, no viewers): %.1f ms CPU/s, Go mem %.1f MiB\n",
		source, float64(idle.Microseconds())/1000/window.Seconds(), float64(mem0)/(1<<20))
	if pliViewers > 0 {
		fmt.Printf("pli: after each window %d more viewers join 300 ms apart; each sends one PLI 1 s after its first frame (server throttle: 1 PLI per 500 ms per stream)\n", pliViewers)
	}
	pliHdr := ""
	if pliViewers > 0 {
		pliHdr = fmt.Sprintf(" %8s %8s %8s", "pli p50", "pli p95", "pli max")
	}
	// lat: server receive of a frame -> the viewer kernel's receipt of its
	// last packet; read p99: the same up to whepload's read (its own
	// queueing included).
	fmt.Printf("%5s %5s %8s %7s %10s %8s %8s %8s %6s %8s %8s %8s %8s %8s %8s %8s %6s%s\n", "N", "conn", "Mbit/s/v", "pkt/s/v",
		"ms/v-s", "(sys)", "KB/v go", "KB/v rss", "lost", "lostJoin", "lat p50", "lat p95", "lat p99", "read p99", "ttff p50", "ttff p95", "load%", pliHdr)
	for _, n := range counts {
		args := append(append([]string{}, loadPrefix...), bin, "-url", url, "-n", strconv.Itoa(n),
			"-duration", window.String(), "-ingest-times", "http://"+ln.Addr().String()+"/bench/ingest-times",
			"-pli-viewers", strconv.Itoa(pliViewers))
		profile := ""
		if p := os.Getenv("WHEP_BENCH_CPUPROFILE"); p != "" {
			profile = fmt.Sprintf("%s.%d", p, n)
		}
		var res whepLoadResult
		w, err := benchproc.Load(args, &res, profile, nil)
		if err != nil {
			t.Fatal(err)
		}
		cpu := w.CPUEnd - w.CPUStart - time.Duration(float64(idle)*1) // window == idle window
		conn := float64(max(res.Connected, 1))
		perViewerSec := float64(cpu.Microseconds()) / 1000 / window.Seconds() / conn
		sysPerViewerSec := float64((w.SysEnd - w.SysStart - idleSys).Microseconds()) / 1000 / window.Seconds() / conn
		pliCols := ""
		if pliViewers > 0 {
			pliCols = fmt.Sprintf(" %8.0f %8.0f %8.0f", res.PLIP50, res.PLIP95, res.PLIMax)
		}
		fmt.Printf("%5d %5d %8.2f %7.0f %10.3f %8.3f %8.0f %8.0f %6d %8d %8.1f %8.1f %8.1f %8.1f %8.0f %8.0f %6.0f%s\n",
			n, res.Connected, res.MbpsPerViewer, res.PktsPerViewer, perViewerSec, sysPerViewerSec,
			float64(int64(w.GoMem)-int64(mem0))/1024/float64(max(res.Connected, 1)),
			float64(int64(w.RSS)-int64(rss0))/1024/float64(max(res.Connected, 1)),
			res.Lost, res.LostTotal, res.P50, res.P95, res.P99, res.ReadP99, res.TTFFP50, res.TTFFP95, res.LoadCPU, pliCols)
		if n > 1 {
			// The viewers left: the floor runs on the same cores alone.
			if fl, err := benchproc.Floor(floorBin, "udp", n, window); err != nil {
				t.Errorf("floor: %v", err)
			} else {
				fmt.Printf("%5s %5d %8s %7s %10.3f %8.3f   floor (AES-GCM + GSO, no server code); ours/floor = %.2fx\n",
					"floor", n, "", "", fl.MsPerReaderSec, fl.Sys, perViewerSec/fl.MsPerReaderSec)
			}
		}
		if res.Unmatched > 0 {
			fmt.Printf("      (%d viewers' frames could not be matched to server receive times)\n", res.Unmatched)
		}
		// Fewer viewers than asked or a silent window would only show as
		// better-looking averages: fail instead.
		var why []string
		if res.Viewers != n || res.Connected < n {
			why = append(why, fmt.Sprintf("%d of %d viewers received a frame (%d failed to join)", res.Connected, n, res.Failed))
		}
		if res.Received == 0 {
			why = append(why, "no packets arrived in the window")
		}
		if res.PLIMeasured < pliViewers {
			why = append(why, fmt.Sprintf("%d of %d PLI viewers got a keyframe after their PLI", res.PLIMeasured, pliViewers))
		}
		if w.Exit != nil {
			why = append(why, fmt.Sprintf("whepload: %v", w.Exit))
		}
		if len(why) > 0 {
			t.Errorf("N=%d: %s", n, strings.Join(why, "; "))
			break
		}
		deadline := time.Now().Add(30 * time.Second)
		for s.Viewers() > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
	}
}

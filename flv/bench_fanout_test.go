//go:build bench

package flv_test

// The FLV fan-out benchmark: go test -tags bench -run TestFLVFanoutBench -v ./flv/
// (bench/flv.sh runs it). One in-process server (ingest + flv), one ffmpeg
// publisher at 720p30 ~2.5 Mbit/s, and bench/flvload in a separate process
// with N readers. Server CPU comes from getrusage(RUSAGE_SELF) of this
// process (ffmpeg and flvload are other processes), memory from the Go
// runtime, both as deltas against the same server with no viewers.

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
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/benchproc"
	"github.com/bookmygig/bookmygig/media"
)

type loadResult struct {
	Readers       int     `json:"readers"`
	Connected     int     `json:"connected"`
	Failed        int     `json:"failed"`
	WindowS       float64 `json:"window_s"`
	MbpsPerReader float64 `json:"mbps_per_reader"`
	VideoFPS      float64 `json:"video_fps_per_reader"`
	Stalled       int     `json:"stalled_readers"`
	Skipped       int     `json:"skipped_readers"`
	MaxGapMS      float64 `json:"max_video_gap_ms"`
	P50           float64 `json:"added_latency_p50_ms"`
	P99           float64 `json:"added_latency_p99_ms"`
	ServerP50     float64 `json:"server_latency_p50_ms"`
	ServerP99     float64 `json:"server_latency_p99_ms"`
	VideoP50      float64 `json:"video_server_latency_p50_ms"`
	VideoP99      float64 `json:"video_server_latency_p99_ms"`
	AudioP50      float64 `json:"audio_server_latency_p50_ms"`
	AudioP99      float64 `json:"audio_server_latency_p99_ms"`
}

// ingestTimes records when the server received each frame (wall clock, µs),
// keyed like flvload's tags: "<flv tag type>:<timestamp ms>".
type ingestTimes struct {
	mu sync.Mutex
	at map[string]int64
}

func (r *ingestTimes) OnTrack(*media.Track) {}

func (r *ingestTimes) OnFrame(f *media.Frame) {
	typ := "8"
	if f.Codec == media.CodecH264 {
		typ = "9"
	}
	now := time.Now().UnixMicro()
	r.mu.Lock()
	r.at[typ+":"+strconv.FormatInt(f.DTS.Milliseconds(), 10)] = now
	r.mu.Unlock()
}

func (r *ingestTimes) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = json.NewEncoder(w).Encode(r.at)
}

func TestFLVFanoutBench(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	counts, err := benchproc.Counts("FLV_BENCH_N", 1, 100, 500, 1000)
	if err != nil {
		t.Fatal(err)
	}
	window, err := benchproc.Duration("FLV_BENCH_WINDOW", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := benchproc.Build("../bench/flvload", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	floorBin, err := benchproc.Build("../bench/floor", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := media.NewRegistry(media.RegistryConfig{}, log)
	rtmp := ingesttest.StartServer(t, ingest.Config{}, ingesttest.Keys{"bench": "bench"}, reg, log)
	// Every load viewer comes from 127.0.0.1.
	h := flv.NewHandler(flv.Config{MaxViewersPerIP: -1}, reg, log)
	mux := http.NewServeMux()
	mux.Handle("GET /live/{file}", h)
	rec := &ingestTimes{at: make(map[string]int64)}
	mux.Handle("GET /bench/ingest-times", rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { h.Close(); hs.Close() })
	url := "http://" + ln.Addr().String() + "/live/bench.flv"

	// Pre-encoded and sent with -c copy: the encoder's CPU and timing jitter
	// stay out of the numbers.
	clip := ingesttest.EncodeClip(t, t.TempDir(), ingesttest.Options{Width: 1280, Height: 720, VideoBitrate: "2500k"}, 20*time.Second)
	ingesttest.Publish(t, rtmp.URL("bench"), ingesttest.Options{File: clip})
	stream := ingesttest.WaitLive(t, reg, "bench", 15*time.Second)
	detach, err := stream.Attach(rec, false)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()

	// FLV_BENCH_PIN=1: server on CPU 0 (GOMAXPROCS 1), the readers on
	// CPU 1, as the WebRTC bench and bench/floor do; the publisher (ffmpeg
	// -c copy) stays where it started. Off by default: the server then
	// uses both cores, as it would in production.
	var loadPrefix []string
	pinned := false
	if os.Getenv("FLV_BENCH_PIN") == "1" {
		var err error
		if loadPrefix, err = benchproc.Pin(); err != nil {
			t.Logf("unpinned: %v", err)
		}
		pinned = err == nil
	}
	time.Sleep(2 * time.Second)

	// Baseline: the server ingesting with no viewers.
	mem0, rss0 := benchproc.GoMem(), benchproc.RSS()
	c0 := benchproc.CPUTotal()
	time.Sleep(window)
	idleCPU := benchproc.CPUTotal() - c0
	t.Logf("baseline: %.1f ms CPU/s ingesting 720p30 with no viewers, Go mem %.1f MiB", float64(idleCPU.Microseconds())/1000/window.Seconds(), float64(mem0)/(1<<20))

	fmt.Printf("\nFLV fan-out, 720p30 ~2.5 Mbit/s + AAC, %v window, server GOMAXPROCS %d pinned=%v\n", window, runtime.GOMAXPROCS(0), pinned)
	// Latencies are server-only (reader arrival minus the server's receive
	// time of the same frame), split by kind: audio may wait for the next
	// video frame, so its figures differ from video's.
	fmt.Printf("%6s %6s %9s %8s %14s %9s %10s %10s %8s %8s %9s %9s %9s %9s\n", "N", "conn", "Mbit/s/r", "fps/r", "CPU ms/view-s", "writes/vs", "KB/viewer", "RSS KB/v",
		"stalled", "skipped", "video p50", "video p99", "audio p50", "audio p99")
	for _, n := range counts {
		args := append(append([]string{}, loadPrefix...), bin, "-url", url, "-n", strconv.Itoa(n), "-duration", window.String(),
			"-ingest-times", "http://"+ln.Addr().String()+"/bench/ingest-times")
		profile := ""
		if p := os.Getenv("FLV_BENCH_CPUPROFILE"); p != "" {
			profile = fmt.Sprintf("%s.%d", p, n)
		}
		var w0, w1 uint64
		var res loadResult
		w, err := benchproc.Load(args, &res, profile, func(end bool) {
			if end {
				w1 = h.Counters().Writes
			} else {
				w0 = h.Counters().Writes
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if w.Exit != nil {
			t.Fatalf("flvload: %v", w.Exit)
		}
		win := time.Duration(res.WindowS * float64(time.Second))
		extra := (w.CPUEnd - w.CPUStart) - time.Duration(float64(idleCPU)*res.WindowS/window.Seconds())
		perViewerSec := float64(extra.Microseconds()) / 1000 / (float64(n) * win.Seconds())
		kbPerViewer := (float64(w.GoMem) - float64(mem0)) / 1024 / float64(n)
		rssPerViewer := (float64(w.RSS) - float64(rss0)) / 1024 / float64(n)
		writesPerViewerSec := float64(w1-w0) / (float64(n) * win.Seconds())
		fmt.Printf("%6d %6d %9.2f %8.1f %14.3f %9.1f %10.1f %10.1f %8d %8d %9.1f %9.1f %9.1f %9.1f\n", n, res.Connected, res.MbpsPerReader, res.VideoFPS,
			perViewerSec, writesPerViewerSec, kbPerViewer, rssPerViewer, res.Stalled, res.Skipped, res.VideoP50, res.VideoP99, res.AudioP50, res.AudioP99)
		t.Logf("N=%d: server CPU %.0f ms/s (%.0f%% in the kernel), Go heap+stacks %.1f MiB, RSS %.1f MiB; server-only latency, all tags, p50 %.1f p99 %.1f ms; end-to-end added latency p50 %.1f p99 %.1f ms", n,
			float64((w.CPUEnd-w.CPUStart).Milliseconds())/win.Seconds(), 100*float64(w.SysEnd-w.SysStart)/float64(w.CPUEnd-w.CPUStart),
			float64(w.GoMem)/(1<<20), float64(w.RSS)/(1<<20), res.ServerP50, res.ServerP99, res.P50, res.P99)
		if res.Connected != n || res.Failed != 0 {
			t.Errorf("N=%d: %d connected, %d failed", n, res.Connected, res.Failed)
		}
		// Let the viewers of this run disconnect, then the kernel floor
		// of the same write pattern with as many readers, same run.
		for i := 0; i < 100 && h.Viewers() > 0; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if n > 1 {
			if fl, err := benchproc.Floor(floorBin, "tcp", n, window); err != nil {
				t.Errorf("floor: %v", err)
			} else {
				fmt.Printf("%6s %6d %9s %8s %14.3f %9s   floor (one TCP write per reader per frame, no server code); ours/floor = %.2fx%s\n",
					"floor", n, "", "", fl.MsPerReaderSec, "", perViewerSec/fl.MsPerReaderSec, map[bool]string{false: " (server unpinned: FLV_BENCH_PIN=1 compares like with like)"}[pinned])
			}
		}
		// Let the viewers of this run disconnect before the next.
		for i := 0; i < 100 && h.Viewers() > 0; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

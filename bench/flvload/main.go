// Command flvload opens N concurrent HTTP-FLV readers on one URL and reports
// the receive rate, stalls and the latency each tag gained on its way.
//
// Latency: the publisher stamps every FLV tag with its media time and sends
// in real time (ffmpeg -re), so wall-clock arrival minus tag timestamp is a
// constant pipeline offset plus whatever delay the server added. The
// smallest offset seen by any reader during the run is taken as the
// baseline; each tag's added latency is its offset minus that baseline.
// Tags of the first warm-up seconds (the cached GOP burst) are not counted.
//
//	flvload -url http://127.0.0.1:8080/live/GIG.flv -n 500 -duration 10s
//
// It prints "window_start" and "window_end" around the measured window (a
// driver samples the server's CPU there), then one JSON line with the
// results, then a summary on stderr.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is the JSON line flvload prints at the end of the window.
type Result struct {
	Readers        int     `json:"readers"`
	Connected      int     `json:"connected"`
	Failed         int     `json:"failed"`
	WindowS        float64 `json:"window_s"`
	MbpsPerReader  float64 `json:"mbps_per_reader"`
	TagsPerSecond  float64 `json:"tags_per_s_per_reader"`
	VideoFPS       float64 `json:"video_fps_per_reader"`
	Stalled        int     `json:"stalled_readers"` // a gap > 1 s between video tags
	Skipped        int     `json:"skipped_readers"` // a jump in video timestamps (queue overflow)
	MaxGapMS       float64 `json:"max_video_gap_ms"`
	LatencyP50MS   float64 `json:"added_latency_p50_ms"`
	LatencyP99MS   float64 `json:"added_latency_p99_ms"`
	LatencyMaxMS   float64 `json:"added_latency_max_ms"`
	LatencySamples int     `json:"latency_samples"`
	VideoP50MS     float64 `json:"video_added_latency_p50_ms"`
	VideoP99MS     float64 `json:"video_added_latency_p99_ms"`
	AudioP50MS     float64 `json:"audio_added_latency_p50_ms"`
	AudioP99MS     float64 `json:"audio_added_latency_p99_ms"`
	// Server-only latency: reader arrival minus the server's own receive
	// time of the same frame (with -ingest-times).
	ServerP50MS    float64 `json:"server_latency_p50_ms,omitempty"`
	ServerP99MS    float64 `json:"server_latency_p99_ms,omitempty"`
	ServerMaxMS    float64 `json:"server_latency_max_ms,omitempty"`
	ServerSamples  int     `json:"server_latency_samples,omitempty"`
	VideoServerP50 float64 `json:"video_server_latency_p50_ms,omitempty"`
	VideoServerP99 float64 `json:"video_server_latency_p99_ms,omitempty"`
	AudioServerP50 float64 `json:"audio_server_latency_p50_ms,omitempty"`
	AudioServerP99 float64 `json:"audio_server_latency_p99_ms,omitempty"`
}

type reader struct {
	bytes, tags, video atomic.Int64
	maxGap             time.Duration
	skipped            bool
	stopped            bool // ended by flvload itself
	trackArrivals      bool
	offsets            []int64 // arrival - media time, µs, during the window; audio tags have the low bit set
	arrivals           []arrival
	err                error
}

func main() {
	rawURL := flag.String("url", "", "HTTP-FLV URL (http://host:port/live/GIG.flv)")
	n := flag.Int("n", 100, "concurrent readers")
	duration := flag.Duration("duration", 10*time.Second, "measured window")
	warmup := flag.Duration("warmup", 3*time.Second, "time after the last reader connects before measuring")
	ingestURL := flag.String("ingest-times", "", "optional URL serving {\"<type>:<ts>\": unix µs} of when the server received each frame; adds the server-only latency")
	flag.Parse()
	if *rawURL == "" || *n <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" {
		fmt.Fprintln(os.Stderr, "flvload: -url must be an http:// URL")
		os.Exit(2)
	}

	var measuring atomic.Bool
	stop := make(chan struct{})
	readers := make([]*reader, *n)
	conns := make([]net.Conn, *n)
	var wg sync.WaitGroup
	var connected atomic.Int64
	for i := range readers {
		r := &reader{offsets: make([]int64, 0, int(duration.Seconds()*100)+64), trackArrivals: *ingestURL != ""}
		readers[i] = r
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			r.err = err
			continue
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.err = r.run(c, u, &measuring, &connected)
			select {
			case <-stop:
				r.stopped = true
			default:
			}
		}()
		if i%50 == 49 {
			time.Sleep(20 * time.Millisecond) // spread the GOP bursts a little
		}
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	fmt.Println("window_start")
	start := time.Now()
	b0, t0, v0 := sums(readers)
	time.Sleep(*duration)
	measuring.Store(false)
	win := time.Since(start)
	b1, t1, v1 := sums(readers)

	fmt.Println("window_end")
	// Stop the readers before looking at what they recorded.
	close(stop)
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
	wg.Wait()

	res := Result{Readers: *n, Connected: int(connected.Load()), WindowS: win.Seconds()}
	var all []int64
	for _, r := range readers {
		if r.err != nil && !r.stopped {
			res.Failed++
			if res.Failed <= 3 {
				fmt.Fprintln(os.Stderr, "flvload: reader failed:", r.err)
			}
		}
		if r.maxGap > 1*time.Second {
			res.Stalled++
		}
		if r.skipped {
			res.Skipped++
		}
		res.MaxGapMS = max(res.MaxGapMS, float64(r.maxGap.Microseconds())/1000)
		all = append(all, r.offsets...)
	}
	if res.Connected > 0 {
		per := float64(res.Connected) * win.Seconds()
		res.MbpsPerReader = float64(b1-b0) * 8 / 1e6 / per
		res.TagsPerSecond = float64(t1-t0) / per
		res.VideoFPS = float64(v1-v0) / per
	}
	if len(all) > 0 {
		slices.Sort(all)
		base := all[0] // the fastest any tag went through the whole pipeline
		var video, audio []int64
		for _, o := range all {
			if o&1 == 1 {
				audio = append(audio, o)
			} else {
				video = append(video, o)
			}
		}
		pct := func(xs []int64, p float64) float64 {
			if len(xs) == 0 {
				return 0
			}
			return float64(xs[int(p*float64(len(xs)-1))]-base) / 1000
		}
		res.LatencyP50MS, res.LatencyP99MS, res.LatencyMaxMS = pct(all, 0.50), pct(all, 0.99), pct(all, 1)
		res.VideoP50MS, res.VideoP99MS = pct(video, 0.50), pct(video, 0.99)
		res.AudioP50MS, res.AudioP99MS = pct(audio, 0.50), pct(audio, 0.99)
		res.LatencySamples = len(all)
	}
	if *ingestURL != "" {
		if err := serverLatency(*ingestURL, readers, &res); err != nil {
			fmt.Fprintln(os.Stderr, "flvload: ingest times:", err)
		}
	}
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
	if res.ServerSamples > 0 {
		fmt.Fprintf(os.Stderr, "flvload: server-only latency p50 %.1f ms p99 %.1f ms max %.1f ms (video %.1f/%.1f, audio %.1f/%.1f; %d samples)\n",
			res.ServerP50MS, res.ServerP99MS, res.ServerMaxMS, res.VideoServerP50, res.VideoServerP99, res.AudioServerP50, res.AudioServerP99, res.ServerSamples)
	}
	fmt.Fprintf(os.Stderr, "flvload: %d/%d readers, %.2f Mbit/s and %.1f video fps each, stalled %d, skipped %d, max gap %.0f ms, added latency p50 %.1f ms p99 %.1f ms (video %.1f/%.1f, audio %.1f/%.1f; %d samples)\n",
		res.Connected, res.Readers, res.MbpsPerReader, res.VideoFPS, res.Stalled, res.Skipped, res.MaxGapMS,
		res.LatencyP50MS, res.LatencyP99MS, res.VideoP50MS, res.VideoP99MS, res.AudioP50MS, res.AudioP99MS, res.LatencySamples)
}

type arrival struct {
	key string // "8:1234" (tag type : timestamp ms)
	at  int64  // unix µs
}

func sums(rs []*reader) (b, t, v int64) {
	for _, r := range rs {
		b += r.bytes.Load()
		t += r.tags.Load()
		v += r.video.Load()
	}
	return
}

func (r *reader) run(c net.Conn, u *url.URL, measuring *atomic.Bool, connected *atomic.Int64) error {
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: flvload\r\n\r\n", u.RequestURI(), u.Host)
	br := bufio.NewReaderSize(c, 32<<10)
	status, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(status, " 200 ") {
		return fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	chunked := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
		if strings.HasPrefix(strings.ToLower(line), "transfer-encoding:") && strings.Contains(line, "chunked") {
			chunked = true
		}
	}
	connected.Add(1)
	var body io.Reader = br
	if chunked {
		body = bufio.NewReaderSize(httputil.NewChunkedReader(br), 32<<10)
	}
	var hdr [13]byte
	if _, err := io.ReadFull(body, hdr[:]); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	var lastVideo time.Time
	var lastTS int64 = -1
	for {
		var th [11]byte
		if _, err := io.ReadFull(body, th[:]); err != nil {
			return err
		}
		n := int(th[1])<<16 | int(th[2])<<8 | int(th[3])
		if n+4 > len(buf) {
			buf = make([]byte, n+4)
		}
		if _, err := io.ReadFull(body, buf[:n+4]); err != nil {
			return err
		}
		now := time.Now()
		ts := int64(uint32(th[4])<<16 | uint32(th[5])<<8 | uint32(th[6]) | uint32(th[7])<<24)
		r.bytes.Add(int64(n + 15))
		r.tags.Add(1)
		isMedia := (th[0] == 8 || th[0] == 9) && n > 1 && buf[1] == 1
		if !isMedia {
			continue
		}
		if measuring.Load() {
			off := (now.UnixMicro() - ts*1000) &^ 1
			if th[0] == 8 {
				off |= 1
			}
			r.offsets = append(r.offsets, off)
			if r.trackArrivals {
				r.arrivals = append(r.arrivals, arrival{key: strconv.Itoa(int(th[0])) + ":" + strconv.FormatInt(ts, 10), at: now.UnixMicro()})
			}
		}
		if th[0] == 9 {
			r.video.Add(1)
			if measuring.Load() {
				if !lastVideo.IsZero() && now.Sub(lastVideo) > r.maxGap {
					r.maxGap = now.Sub(lastVideo)
				}
				if lastTS >= 0 && ts-lastTS > 500 {
					r.skipped = true
				}
			}
			lastVideo, lastTS = now, ts
		}
	}
}

// serverLatency compares every tag's arrival with the server's receive time
// of the same frame.
func serverLatency(u string, readers []*reader, res *Result) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ingest map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&ingest); err != nil {
		return err
	}
	var all, video, audio []int64
	for _, r := range readers {
		for _, a := range r.arrivals {
			t0, ok := ingest[a.key]
			if !ok {
				continue
			}
			d := a.at - t0
			all = append(all, d)
			if strings.HasPrefix(a.key, "9:") {
				video = append(video, d)
			} else {
				audio = append(audio, d)
			}
		}
	}
	if len(all) == 0 {
		return errors.New("no tag matched a server receive time")
	}
	pct := func(xs []int64, p float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		return float64(xs[int(p*float64(len(xs)-1))]) / 1000
	}
	for _, xs := range [][]int64{all, video, audio} {
		slices.Sort(xs)
	}
	res.ServerP50MS, res.ServerP99MS, res.ServerMaxMS = pct(all, 0.5), pct(all, 0.99), pct(all, 1)
	res.VideoServerP50, res.VideoServerP99 = pct(video, 0.5), pct(video, 0.99)
	res.AudioServerP50, res.AudioServerP99 = pct(audio, 0.5), pct(audio, 0.99)
	res.ServerSamples = len(all)
	return nil
}

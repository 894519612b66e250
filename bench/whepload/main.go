// Command whepload opens N WHEP viewers (pion, in this one process) on one
// URL and reports what they receive: packets, bytes, loss (sequence gaps),
// time to first frame and the latency each video frame gained.
//
// No decoding: packets are decrypted (SRTP, as any viewer must) and counted.
// The viewers send no NACKs, so every gap counts as loss.
//
// The viewers' sockets read with UDP GRO (-rx-gro, default on): a frame's
// packets that the server sent in one GSO sendmsg arrive as one datagram and
// are handed to pion one by one. On loopback the receiving kernel's work runs
// on the sender's CPU and is billed to the server; without GRO it splits and
// queues every packet there, work a real network leaves to the viewers'
// machines. It also lets this one process keep up with 300 viewers.
//
// Time to first frame: from the start of the viewer's POST to the arrival of
// the first complete video frame (the packet with the marker bit). The
// server starts every viewer at a keyframe, so that frame is decodable.
//
// Latency: with -ingest-times, the server's own receive time of every video
// frame (keyed by PTS in ms) is fetched at the end, and each frame's
// server latency is its arrival here minus that time. Arrival is the
// kernel's receive time of the frame's last packet (SO_TIMESTAMPNS,
// -rx-stamps, default on), so this process's own queueing behind 200 other
// viewers is not counted; the latency up to this process's read is reported
// next to it ("read here"). The viewer's RTP
// timestamps carry a random offset, so the first frame (the cached
// keyframe) is matched to the newest keyframe the server had received
// before it arrived. Without -ingest-times, a publisher-relative figure is
// reported instead: arrival minus RTP time, minus the smallest such offset
// of the viewer (jitter added after the fastest frame).
//
//	whepload -url http://127.0.0.1:8080/whep/GIG -n 200 -duration 10s
//
// Keyframe requests: with -pli-viewers K, after the window K more viewers
// join one every -pli-gap; each sends one PLI -pli-after its first frame
// and measures the time until the first packet of a keyframe arrives (the
// publisher's answer, or the next keyframe when the server's per-stream
// throttle merged the request with an earlier one). Meaningful for WHIP
// sources; an RTMP encoder cannot be asked for a keyframe.
//
// It prints "window_start" and "window_end" around the measured window (a
// driver samples the server's CPU there), then one JSON line with the
// results, then a summary on stderr. It exits 3 when fewer viewers
// received a frame than asked for, or when no packet arrived in the window.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/benchproc"
	"github.com/bookmygig/bookmygig/internal/whepclient"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// Result is the JSON line whepload prints at the end of the window.
type Result struct {
	Viewers       int     `json:"viewers"`
	Connected     int     `json:"connected"`
	Failed        int     `json:"failed"`
	WindowS       float64 `json:"window_s"`
	MbpsPerViewer float64 `json:"mbps_per_viewer"`
	PktsPerViewer float64 `json:"pkts_per_s_per_viewer"`
	// Lost counts sequence gaps inside the window; LostTotal over the
	// whole run (including the cached GOP burst at join).
	Lost         int64   `json:"lost_packets"`
	LostTotal    int64   `json:"lost_packets_total"`
	Received     int64   `json:"received_packets"`
	LossPct      float64 `json:"loss_pct"`
	TTFFP50MS    float64 `json:"ttff_p50_ms"`
	TTFFP95MS    float64 `json:"ttff_p95_ms"`
	TTFFMaxMS    float64 `json:"ttff_max_ms"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP95MS float64 `json:"latency_p95_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	LatencyMaxMS float64 `json:"latency_max_ms"`
	LatencyKind  string  `json:"latency_kind"`
	// The same server latency up to when this process read the frame's
	// last packet (after its own queueing and pion's decryption) instead
	// of when the kernel received it.
	ReadLatencyP50MS float64 `json:"read_latency_p50_ms,omitempty"`
	ReadLatencyP99MS float64 `json:"read_latency_p99_ms,omitempty"`
	LatencyFrames    int     `json:"latency_samples"`
	Unmatched        int     `json:"latency_unmatched_viewers,omitempty"`
	// LoadCPUPct is this process's CPU use during the window (100 = one
	// core): near 100 with one pinned core, the viewers themselves are
	// the bottleneck and latency figures include their queueing.
	LoadCPUPct float64 `json:"load_cpu_pct"`
	// PLI phase (-pli-viewers): PLI -> first keyframe packet.
	PLIViewers  int     `json:"pli_viewers,omitempty"`
	PLIMeasured int     `json:"pli_measured,omitempty"`
	PLIP50MS    float64 `json:"pli_to_key_p50_ms,omitempty"`
	PLIP95MS    float64 `json:"pli_to_key_p95_ms,omitempty"`
	PLIMaxMS    float64 `json:"pli_to_key_max_ms,omitempty"`
}

type frameSample struct {
	arrival int64  // unix µs the kernel received the frame's last packet
	read    int64  // unix µs this process read it (after pion's decryption)
	rtpTS   uint32 // viewer RTP timestamp
}

type viewer struct {
	start      time.Time
	firstFrame atomic.Int64 // unix µs of the first complete video frame
	failed     atomic.Bool
	videoSSRC  atomic.Uint32

	// Read-goroutine state, one per track (whepclient reads each track on
	// its own goroutine).
	tracks [2]trackStats
	// window is set while measuring.
	window *atomic.Bool
	stamps *rxStamps

	mu      sync.Mutex
	samples []frameSample
	first   frameSample // first complete video frame

	// PLI phase: unix µs the PLI went out, and of the first keyframe
	// packet after it.
	pliAt atomic.Int64
	keyAt atomic.Int64
}

type trackStats struct {
	started  bool
	lastSeq  uint16
	packets  atomic.Int64
	bytes    atomic.Int64
	lost     atomic.Int64 // in the window
	lostAll  atomic.Int64
	received atomic.Int64 // in the window
}

func main() {
	url := flag.String("url", "", "WHEP endpoint, e.g. http://127.0.0.1:8080/whep/GIG")
	n := flag.Int("n", 10, "number of viewers")
	duration := flag.Duration("duration", 10*time.Second, "measured window")
	warmup := flag.Duration("warmup", 6*time.Second, "wait after the last join before measuring (GOP burst, settling)")
	joinRate := flag.Int("join-rate", 50, "viewers joining per second")
	ingestTimes := flag.String("ingest-times", "", "URL of the server's per-frame receive times (bench drivers)")
	pliViewers := flag.Int("pli-viewers", 0, "viewers joining after the window to measure PLI -> keyframe (0: none)")
	pliGap := flag.Duration("pli-gap", 300*time.Millisecond, "time between the PLI viewers' joins")
	pliAfter := flag.Duration("pli-after", time.Second, "how long after its first frame a PLI viewer sends its PLI")
	rxGRO := flag.Bool("rx-gro", os.Getenv("WHEPLOAD_RX_GRO") != "0", "read the viewers' sockets with UDP GRO (a frame's GSO send arrives as one datagram, split here)")
	rxStampsOn := flag.Bool("rx-stamps", os.Getenv("WHEPLOAD_RX_STAMPS") != "0", "a frame's receipt is the kernel's receive time of its last packet (SO_TIMESTAMPNS), not this process's read")
	cpuProfile := flag.String("cpuprofile", os.Getenv("WHEPLOAD_CPUPROFILE"), "write this process's CPU profile of the whole run here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "whepload:", err)
			os.Exit(2)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *url == "" {
		fmt.Fprintln(os.Stderr, "whepload: -url is required")
		os.Exit(2)
	}
	res, err := run(*url, *n, *duration, *warmup, *joinRate, *ingestTimes, pliPhase{*pliViewers, *pliGap, *pliAfter}, *rxStampsOn, *rxGRO)
	if err != nil {
		fmt.Fprintln(os.Stderr, "whepload:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	fmt.Fprintf(os.Stderr, "whepload: %d/%d connected, %.2f Mbit/s per viewer, loss %d (%d incl. join), ttff p50 %.0f ms p95 %.0f ms, %s latency p50 %.1f p95 %.1f p99 %.1f ms (read here: p50 %.1f p99 %.1f), load cpu %.0f%%\n",
		res.Connected, res.Viewers, res.MbpsPerViewer, res.Lost, res.LostTotal, res.TTFFP50MS, res.TTFFP95MS,
		res.LatencyKind, res.LatencyP50MS, res.LatencyP95MS, res.LatencyP99MS, res.ReadLatencyP50MS, res.ReadLatencyP99MS, res.LoadCPUPct)
	if res.PLIViewers > 0 {
		fmt.Fprintf(os.Stderr, "whepload: PLI -> first keyframe packet over %d/%d joining viewers: p50 %.0f ms p95 %.0f ms max %.0f ms\n",
			res.PLIMeasured, res.PLIViewers, res.PLIP50MS, res.PLIP95MS, res.PLIMaxMS)
	}
	if why := res.shortfall(); why != "" {
		fmt.Fprintln(os.Stderr, "whepload: FAIL:", why)
		os.Exit(3)
	}
}

// shortfall says why the run does not measure what was asked ("" if it
// does): a viewer that never got a frame or a silent window would
// otherwise only lower the averages.
func (r *Result) shortfall() string {
	var why []string
	if r.Connected < r.Viewers {
		why = append(why, fmt.Sprintf("only %d of %d viewers received a frame (%d failed to join)", r.Connected, r.Viewers, r.Failed))
	}
	if r.Received == 0 {
		why = append(why, "no packets arrived in the window")
	}
	if r.PLIMeasured < r.PLIViewers {
		why = append(why, fmt.Sprintf("only %d of %d PLI viewers got a keyframe after their PLI", r.PLIMeasured, r.PLIViewers))
	}
	return strings.Join(why, "; ")
}

func newAPI(stamps *rxStamps, gro bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, PayloadType: 102}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
	}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Large receive buffers: loss should measure the server, not this
	// process falling behind for a moment.
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	se.SetNet(bigBufferNet{std, stamps, gro})
	// Only receiver reports, as a browser sends them. No NACK generator:
	// every gap counts as loss, and an overloaded viewer process does not
	// ask for retransmissions that load the server further. (pion's
	// default set, which NewAPI installs without a registry, has NACKs,
	// stats and TWCC.)
	reg := &interceptor.Registry{}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(rr)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg)), nil
}

// bigBufferNet gives every UDP socket a 4 MiB receive buffer (the usual
// net.core.rmem_max) and kernel receive timestamps.
type bigBufferNet struct {
	*stdnet.Net
	stamps *rxStamps
	gro    bool
}

func (n bigBufferNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if u, ok := c.(*net.UDPConn); ok && err == nil {
		_ = u.SetReadBuffer(4 << 20)
		return newStampConn(u, n.stamps, n.gro), nil
	}
	return c, err
}

func (n bigBufferNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		_ = c.SetReadBuffer(4 << 20)
		return newStampConn(c, n.stamps, n.gro), nil
	}
	return c, err
}

// pliPhase configures the keyframe-request measurement.
type pliPhase struct {
	viewers      int
	gap, afterFF time.Duration
}

func run(url string, n int, duration, warmup time.Duration, joinRate int, ingestTimes string, pli pliPhase, withStamps, gro bool) (*Result, error) {
	var stamps *rxStamps
	if withStamps {
		stamps = newRxStamps()
	}
	api, err := newAPI(stamps, gro)
	if err != nil {
		return nil, err
	}
	var window atomic.Bool
	viewers := make([]*viewer, n)
	var pcs []*webrtc.PeerConnection
	var pcMu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(max(joinRate, 1)))
	for i := range viewers {
		<-tick.C
		v := &viewer{window: &window, stamps: stamps}
		viewers[i] = v
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := v.join(api, url)
			if err != nil {
				v.failed.Store(true)
				fmt.Fprintln(os.Stderr, "whepload: join:", err)
				return
			}
			pcMu.Lock()
			pcs = append(pcs, pc)
			pcMu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	time.Sleep(warmup)

	fmt.Println("window_start")
	var before [2][2]int64
	for _, v := range viewers {
		for k := range v.tracks {
			before[k][0] += v.tracks[k].packets.Load()
			before[k][1] += v.tracks[k].bytes.Load()
		}
	}
	window.Store(true)
	t0, c0 := time.Now(), benchproc.CPUTotal()
	time.Sleep(duration)
	window.Store(false)
	elapsed, cpu := time.Since(t0), benchproc.CPUTotal()-c0
	fmt.Println("window_end")

	res := &Result{Viewers: n, WindowS: elapsed.Seconds(), LoadCPUPct: float64(int(1000*cpu.Seconds()/elapsed.Seconds())) / 10}
	var pkts, bytes int64
	var ttff []float64
	for _, v := range viewers {
		if v.failed.Load() {
			res.Failed++
			continue
		}
		if f := v.firstFrame.Load(); f != 0 {
			res.Connected++
			ttff = append(ttff, float64(f-v.start.UnixMicro())/1000)
		}
		for k := range v.tracks {
			t := &v.tracks[k]
			pkts += t.packets.Load()
			bytes += t.bytes.Load()
			res.Lost += t.lost.Load()
			res.LostTotal += t.lostAll.Load()
			res.Received += t.received.Load()
		}
	}
	for k := range before {
		pkts -= before[k][0]
		bytes -= before[k][1]
	}
	if res.Connected > 0 {
		res.MbpsPerViewer = float64(bytes*8) / elapsed.Seconds() / 1e6 / float64(res.Connected)
		res.PktsPerViewer = float64(pkts) / elapsed.Seconds() / float64(res.Connected)
	}
	if res.Received+res.Lost > 0 {
		res.LossPct = 100 * float64(res.Lost) / float64(res.Received+res.Lost)
	}
	slices.Sort(ttff)
	res.TTFFP50MS, res.TTFFP95MS, res.TTFFMaxMS = pct(ttff, 50), pct(ttff, 95), pct(ttff, 100)

	lat, readLat, unmatched, kind := latencies(viewers, ingestTimes)
	slices.Sort(lat)
	slices.Sort(readLat)
	res.ReadLatencyP50MS, res.ReadLatencyP99MS = pct(readLat, 50), pct(readLat, 99)
	res.LatencyKind, res.Unmatched, res.LatencyFrames = kind, unmatched, len(lat)
	res.LatencyP50MS, res.LatencyP95MS, res.LatencyP99MS, res.LatencyMaxMS = pct(lat, 50), pct(lat, 95), pct(lat, 99), pct(lat, 100)

	if pli.viewers > 0 {
		res.PLIViewers = pli.viewers
		got, extra := measurePLI(api, url, pli)
		pcs = append(pcs, extra...)
		slices.Sort(got)
		res.PLIMeasured = len(got)
		res.PLIP50MS, res.PLIP95MS, res.PLIMaxMS = pct(got, 50), pct(got, 95), pct(got, 100)
	}

	var cwg sync.WaitGroup
	for _, pc := range pcs {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			_ = pc.Close()
		}()
	}
	cwg.Wait()
	return res, nil
}

// measurePLI joins pli.viewers viewers one every pli.gap; each sends one
// PLI pli.afterFF after its first frame. It returns the PLI -> keyframe
// times in ms of those that got one within pliTimeout, and the
// PeerConnections to close.
func measurePLI(api *webrtc.API, url string, pli pliPhase) ([]float64, []*webrtc.PeerConnection) {
	const pliTimeout = 10 * time.Second
	var (
		mu  sync.Mutex
		out []float64
		pcs []*webrtc.PeerConnection
		wg  sync.WaitGroup
	)
	for i := 0; i < pli.viewers; i++ {
		if i > 0 {
			time.Sleep(pli.gap)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var off atomic.Bool // not measured: no loss or latency figures
			v := &viewer{window: &off}
			pc, err := v.join(api, url)
			if err != nil {
				fmt.Fprintln(os.Stderr, "whepload: pli viewer join:", err)
				return
			}
			mu.Lock()
			pcs = append(pcs, pc)
			mu.Unlock()
			deadline := time.Now().Add(pliTimeout)
			for v.firstFrame.Load() == 0 || v.videoSSRC.Load() == 0 {
				if time.Now().After(deadline) {
					fmt.Fprintln(os.Stderr, "whepload: pli viewer got no frame")
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(pli.afterFF)
			v.pliAt.Store(time.Now().UnixMicro())
			if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.videoSSRC.Load()}}); err != nil {
				fmt.Fprintln(os.Stderr, "whepload: send pli:", err)
				return
			}
			deadline = time.Now().Add(pliTimeout)
			for v.keyAt.Load() == 0 {
				if time.Now().After(deadline) {
					fmt.Fprintln(os.Stderr, "whepload: no keyframe within", pliTimeout, "of a PLI")
					return
				}
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			out = append(out, float64(v.keyAt.Load()-v.pliAt.Load())/1000)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, pcs
}

// h264KeyStart reports whether an H.264 RTP payload holds an SPS or the
// start of an IDR slice (single NAL unit, STAP-A or FU-A).
func h264KeyStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 24: // STAP-A
		for p = p[1:]; len(p) >= 3; {
			n := int(p[0])<<8 | int(p[1])
			if nt := p[2] & 0x1f; nt == 5 || nt == 7 {
				return true
			}
			if n == 0 || n > len(p)-2 {
				return false
			}
			p = p[2+n:]
		}
		return false
	case 28: // FU-A
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	default:
		return t == 5 || t == 7
	}
}

func (v *viewer) join(api *webrtc.API, url string) (*webrtc.PeerConnection, error) {
	v.start = time.Now()
	c, err := whepclient.New(whepclient.Options{API: api, OnTrack: v.track, OnPacket: v.packet})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx, url); err != nil {
		_ = c.PC.Close()
		return nil, err
	}
	return c.PC, nil
}

func (v *viewer) track(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		v.videoSSRC.Store(uint32(tr.SSRC()))
	}
}

// packet counts a track's packet, on that track's goroutine. The packet is
// decrypted (as any viewer must) but not decoded.
func (v *viewer) packet(tr *webrtc.TrackRemote, p *rtp.Packet, now time.Time) {
	k := 0
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		k = 1
	}
	t := &v.tracks[k]
	t.packets.Add(1)
	t.bytes.Add(int64(p.MarshalSize()))
	inWindow := v.window.Load()
	if inWindow {
		t.received.Add(1)
	}
	if t.started {
		if d := p.SequenceNumber - t.lastSeq; d != 1 && d < 0x8000 {
			t.lostAll.Add(int64(d - 1))
			if inWindow {
				t.lost.Add(int64(d - 1))
			}
		}
	}
	if !t.started || p.SequenceNumber-t.lastSeq < 0x8000 {
		t.lastSeq = p.SequenceNumber
	}
	t.started = true
	if k == 0 && v.keyAt.Load() == 0 {
		if at := v.pliAt.Load(); at != 0 && h264KeyStart(p.Payload) {
			v.keyAt.Store(now.UnixMicro())
		}
	}
	if k == 0 && p.Marker {
		s := frameSample{arrival: now.UnixMicro(), read: now.UnixMicro(), rtpTS: p.Timestamp}
		if at, ok := v.stamps.take(p.SSRC, p.Timestamp); ok && at <= s.read {
			s.arrival = at
		}
		if v.firstFrame.Load() == 0 {
			v.mu.Lock()
			v.first = s
			v.mu.Unlock()
			v.firstFrame.Store(s.arrival)
		} else if inWindow {
			v.mu.Lock()
			v.samples = append(v.samples, s)
			v.mu.Unlock()
		}
	}
}

// ingestRecord is the server side of the latency measurement.
type ingestRecord struct {
	// Frames maps a video frame's PTS in ms to the unix µs the server
	// received it; Keyframes lists the keyframes' PTS in ms.
	Frames    map[string]int64 `json:"frames"`
	Keyframes []int64          `json:"keyframes"`
}

func latencies(viewers []*viewer, ingestURL string) (out, read []float64, unmatched int, kind string) {
	if ingestURL != "" {
		rec, err := fetchIngest(ingestURL)
		if err == nil {
			out, unmatched, kind = serverLatencies(viewers, rec, func(s frameSample) int64 { return s.arrival })
			read, _, _ = serverLatencies(viewers, rec, func(s frameSample) int64 { return s.read })
			return out, read, unmatched, kind
		}
		fmt.Fprintln(os.Stderr, "whepload: ingest times:", err)
	}
	for _, v := range viewers {
		v.mu.Lock()
		minOff := int64(1 << 62)
		offs := make([]int64, 0, len(v.samples))
		for _, s := range v.samples {
			off := s.arrival - int64(s.rtpTS-v.first.rtpTS)*1000/90
			offs = append(offs, off)
			minOff = min(minOff, off)
		}
		v.mu.Unlock()
		for _, o := range offs {
			out = append(out, float64(o-minOff)/1000)
		}
	}
	return out, nil, 0, "jitter"
}

func fetchIngest(url string) (*ingestRecord, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	var rec ingestRecord
	if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

func serverLatencies(viewers []*viewer, rec *ingestRecord, when func(frameSample) int64) (out []float64, unmatched int, kind string) {
	slices.Sort(rec.Keyframes)
	for _, v := range viewers {
		v.mu.Lock()
		first, samples := v.first, append([]frameSample(nil), v.samples...)
		v.mu.Unlock()
		if first.arrival == 0 {
			continue
		}
		// The cached keyframe: the newest one the server had before the
		// viewer's first frame arrived.
		k0 := int64(-1)
		for _, k := range rec.Keyframes {
			if at, ok := lookup(rec.Frames, k); ok && at <= first.arrival {
				k0 = k
			}
		}
		if k0 < 0 {
			unmatched++
			continue
		}
		bad := 0
		var lat []float64
		for _, s := range samples {
			pts := k0 + int64(s.rtpTS-first.rtpTS)/90
			at, ok := lookup(rec.Frames, pts)
			if !ok || when(s) < at {
				bad++
				continue
			}
			lat = append(lat, float64(when(s)-at)/1000)
		}
		if bad > len(samples)/10 {
			unmatched++
			continue
		}
		out = append(out, lat...)
	}
	return out, unmatched, "server"
}

func lookup(m map[string]int64, ms int64) (int64, bool) {
	for _, d := range []int64{0, -1, 1} {
		if at, ok := m[strconv.FormatInt(ms+d, 10)]; ok {
			return at, true
		}
	}
	return 0, false
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return float64(int(sorted[i]*10+0.5)) / 10
}

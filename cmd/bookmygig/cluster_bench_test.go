package main

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/benchproc"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/syncbuf"
	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchmarkCluster measures what the origin -> edge relay costs, with three
// node processes (no race detector) on one redis-server and a 720p30
// 2.5 Mbit/s ffmpeg show published to node A; B and C are edges. It prints,
// side by side with the single node:
//   - added latency per relay hop: the same video packet's arrival at a
//     viewer of edge B minus its arrival at a viewer of origin A (both
//     viewers in this process), p50/p99. Goal p99 < 5 ms on loopback.
//   - time to first frame (offer to the first complete video frame) on A,
//     on an edge whose relay runs (warm) and on an edge with no relay yet
//     (cold, the relay starts for this viewer). Goals: cold p50 < 300 ms,
//     warm as local.
//   - origin CPU with 2 edges x 100 viewers against 2 local viewers
//     (goal: within 10%): the origin serves one relay per edge, whatever
//     the edges' audiences. The origin and its publisher run on CPU 0,
//     the rest on CPU 1.
func BenchmarkCluster(b *testing.B) {
	ingesttest.RequireFFmpeg(b)
	dir := b.TempDir()
	if binPath == "" {
		bin, err := benchproc.Build(".", dir)
		if err != nil {
			b.Fatal(err)
		}
		binPath = bin
	}
	whepload, err := benchproc.Build("../../bench/whepload", dir)
	if err != nil {
		b.Fatal(err)
	}
	rds := redistest.Start(b)
	args := []string{"--log-level", "warn", "--relay-idle", "1s", "--max-viewers", "10000"}
	a := startClusterNode(b, rds, "node-a", args...)
	e := startClusterNode(b, rds, "node-b", args...)
	c := startClusterNode(b, rds, "node-c", args...)
	g := (&node{HTTP: a.HTTP}).benchCreateGig(b)
	opts := ingesttest.Options{Width: 1280, Height: 720, FPS: 30, GOP: 60, VideoBitrate: "2500k"}
	opts.File = ingesttest.EncodeClip(b, dir, opts, 20*time.Second)
	pub := ingesttest.Publish(b, a.RTMP+"/"+g.Credentials.StreamKey, opts)
	// The origin and its publisher on CPU 0, everything else (edges, their
	// viewers, Redis, this process) on CPU 1: the origin's CPU figure is
	// then its own, not the 2 cores' contention.
	pinTo(b, 0, a.cmd.Process.Pid, pub.Cmd.Process.Pid)
	pinTo(b, 1, e.cmd.Process.Pid, c.cmd.Process.Pid, os.Getpid())
	deadline := time.Now().Add(20 * time.Second)
	for !a.benchLive(b, g.ID) {
		if time.Now().After(deadline) {
			b.Fatal("the show did not go live in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)

	for range b.N {
		// 1. Added latency per hop.
		hop := newHopMeter()
		va := benchViewer(b, a.HTTP, g.ID, hop.side(0))
		vb := benchViewer(b, e.HTTP, g.ID, hop.side(1))
		time.Sleep(3 * time.Second) // past the GOP burst
		hop.start()
		time.Sleep(10 * time.Second)
		added := hop.stop()
		va.close()
		vb.close()
		if len(added) < 500 {
			b.Fatalf("only %d video packets matched between the origin's and the edge's viewer", len(added))
		}

		// 2. Time to first frame: local, warm edge (B's relay runs for
		// a viewer that stays), cold edge (C's relay stopped: idle 1 s).
		keep := benchViewer(b, e.HTTP, g.ID, nil)
		var local, warm, cold []time.Duration
		for range 10 {
			local = append(local, firstFrame(b, a.HTTP, g.ID))
			warm = append(warm, firstFrame(b, e.HTTP, g.ID))
			waitRelayGone(b, c, g.ID)
			cold = append(cold, firstFrame(b, c.HTTP, g.ID))
		}
		keep.close()

		// 3. Origin CPU: 2 local viewers, then 2 edges x 100 viewers.
		waitRelayGone(b, e, g.ID)
		waitRelayGone(b, c, g.ID)
		l1 := benchViewer(b, a.HTTP, g.ID, nil)
		l2 := benchViewer(b, a.HTTP, g.ID, nil)
		time.Sleep(3 * time.Second)
		cpuLocal := procCPU(b, a, 20*time.Second)
		l1.close()
		l2.close()
		waitRelayGone(b, e, g.ID) // nothing relayed during the local figure
		loads := []*exec.Cmd{
			wheploadRun(b, whepload, e.HTTP+"/whep/"+g.ID, 100),
			wheploadRun(b, whepload, c.HTTP+"/whep/"+g.ID, 100),
		}
		time.Sleep(5 * time.Second) // joins (50/s) and their GOP bursts
		cpuEdges := procCPU(b, a, 20*time.Second)
		cpuEdge := procCPU(b, e, 5*time.Second)
		for _, l := range loads {
			_ = l.Process.Kill()
			_ = l.Wait()
		}

		fmt.Printf("\ncluster: 3 nodes on one Redis, 720p30 2.5 Mbit/s H.264 + AAC (Opus to WebRTC) published to node A\n")
		fmt.Printf("%-44s %12s %12s\n", "", "single node", "edge")
		fmt.Printf("%-44s %12s %12s\n", "added latency per relay hop p50 / p99", "-", fmt.Sprintf("%.2f / %.2f ms", ms(pct(added, 50)), ms(pct(added, 99))))
		fmt.Printf("%-44s %12s %12s\n", "time to first frame p50 (warm relay)", msf(pct(local, 50)), msf(pct(warm, 50)))
		fmt.Printf("%-44s %12s %12s\n", "time to first frame p50 / max (cold relay)", "-", fmt.Sprintf("%.0f / %.0f ms", ms(pct(cold, 50)), ms(pct(cold, 100))))
		fmt.Printf("%-44s %12s %12s\n", "origin CPU (2 local viewers | 2 edges x 100)", fmt.Sprintf("%.1f%%", cpuLocal*100), fmt.Sprintf("%.1f%%", cpuEdges*100))
		fmt.Printf("%-44s %12s %12s\n", "one edge's CPU with 100 viewers", "-", fmt.Sprintf("%.1f%%", cpuEdge*100))
		fmt.Printf("goals: hop p99 < 5 ms; cold p50 < 300 ms; warm ~ local; origin CPU within 10%% (ratio %.2f)\n\n", cpuEdges/cpuLocal)
		b.ReportMetric(ms(pct(added, 99)), "hop-p99-ms")
		b.ReportMetric(ms(pct(cold, 50)), "cold-ttff-p50-ms")
		b.ReportMetric(ms(pct(warm, 50)), "warm-ttff-p50-ms")
		b.ReportMetric(ms(pct(local, 50)), "local-ttff-p50-ms")
		b.ReportMetric(cpuEdges/cpuLocal, "origin-cpu-ratio")
	}
}

func msf(d time.Duration) string { return fmt.Sprintf("%.0f ms", ms(d)) }

// hopMeter matches the same video packets seen by two viewers.
type hopMeter struct {
	seed maphash.Seed
	mu   sync.Mutex
	on   bool
	at   [2]map[uint64]time.Time
}

func newHopMeter() *hopMeter {
	return &hopMeter{seed: maphash.MakeSeed(), at: [2]map[uint64]time.Time{{}, {}}}
}

func (h *hopMeter) start() { h.mu.Lock(); h.on = true; h.mu.Unlock() }

func (h *hopMeter) side(i int) func(payload []byte, at time.Time) {
	return func(payload []byte, at time.Time) {
		k := maphash.Bytes(h.seed, payload)
		h.mu.Lock()
		if h.on {
			h.at[i][k] = at
		}
		h.mu.Unlock()
	}
}

// stop returns, per packet both saw, the second's arrival minus the first's.
func (h *hopMeter) stop() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on = false
	var out []time.Duration
	for k, t0 := range h.at[0] {
		if t1, ok := h.at[1][k]; ok {
			out = append(out, t1.Sub(t0))
		}
	}
	return out
}

type benchWHEP struct {
	*whepclient.Viewer
	first chan time.Time
	once  sync.Once
	video atomic.Int64
}

func (v *benchWHEP) close() { _ = v.PC.Close() }

// benchViewer opens a pion WHEP viewer; onVideo (optional) sees every
// video packet's payload with its arrival time.
func benchViewer(b *testing.B, base, gigID string, onVideo func([]byte, time.Time)) *benchWHEP {
	b.Helper()
	v, err := openBenchViewer(base, gigID, onVideo)
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-v.first:
	case <-time.After(10 * time.Second):
		b.Fatalf("no video frame on %s in 10 s", base)
	}
	return v
}

func openBenchViewer(base, gigID string, onVideo func([]byte, time.Time)) (*benchWHEP, error) {
	v := &benchWHEP{first: make(chan time.Time, 1)}
	var err error
	v.Viewer, err = whepclient.Dial(context.Background(), base+"/whep/"+gigID, whepclient.Options{
		OnPacket: func(tr *webrtc.TrackRemote, p *rtp.Packet, now time.Time) {
			if tr.Kind() != webrtc.RTPCodecTypeVideo {
				return
			}
			v.video.Add(1)
			if p.Marker {
				v.once.Do(func() { v.first <- now })
			}
			if onVideo != nil {
				onVideo(p.Payload, now)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("WHEP POST %s: %w", base, err)
	}
	return v, nil
}

// firstFrame is one viewer's time from the start of its offer to its first
// complete video frame.
func firstFrame(b *testing.B, base, gigID string) time.Duration {
	b.Helper()
	start := time.Now()
	v, err := openBenchViewer(base, gigID, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer v.close()
	select {
	case at := <-v.first:
		return at.Sub(start)
	case <-time.After(10 * time.Second):
		b.Fatalf("no video frame on %s in 10 s", base)
		return 0
	}
}

// waitRelayGone waits until node n no longer relays the gig (idle).
func waitRelayGone(b *testing.B, n *node, gigID string) {
	b.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var c clusterState
		benchDo(b, http.MethodGet, n.HTTP+"/api/cluster", "", "", &c)
		relaying := false
		for _, g := range c.Gigs {
			for _, r := range g.Relays {
				relaying = relaying || (g.GigID == gigID && r.Node == c.Node)
			}
		}
		if !relaying {
			// The tree entry goes first; the pull closes right with it.
			time.Sleep(200 * time.Millisecond)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("node %s still relays the gig after 15 s", n.HTTP)
}

// procCPU is the fraction of one core node n's process used over d.
func procCPU(b *testing.B, n *node, d time.Duration) float64 {
	b.Helper()
	pid := n.cmd.Process.Pid
	t0, c0 := time.Now(), procTicks(b, pid)
	time.Sleep(d)
	t1, c1 := time.Now(), procTicks(b, pid)
	return float64(c1-c0) / 100 / t1.Sub(t0).Seconds() // USER_HZ = 100
}

func procTicks(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parens.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st
}

// wheploadRun starts n whepload viewers on url for long enough to measure.
func wheploadRun(b *testing.B, bin, url string, n int) *exec.Cmd {
	b.Helper()
	cmd := exec.Command(bin, "-url", url, "-n", strconv.Itoa(n), "-duration", "90s", "-warmup", "1s")
	cmd.Stdout, cmd.Stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pinTo(b, 1, cmd.Process.Pid)
	return cmd
}

// pinTo moves the processes (all their threads) to one CPU.
func pinTo(b *testing.B, cpu int, pids ...int) {
	b.Helper()
	for _, pid := range pids {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(cpu), strconv.Itoa(pid)).CombinedOutput(); err != nil {
			b.Fatalf("taskset (util-linux) for pid %d: %v %s", pid, err, out)
		}
	}
}

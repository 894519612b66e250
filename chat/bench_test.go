package chat

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
)

// BenchmarkChat1000Clients: one gig, 1,000 WebSocket clients spread over two
// hubs on one real Redis, 100 messages/s in total for 10 s (100 senders at
// 1 message/s each, within the default rate limit). It reports delivery
// latency (sender's clock to receiver's clock, same process) and checks
// every message reached every client exactly once in per-sender order.
// Each node is a separate process; the clients share this process.
//
//	go test -run '^$' -bench Chat -benchtime 1x ./chat/
func BenchmarkChat1000Clients(b *testing.B) {
	const (
		duration = 10 * time.Second
		rate     = 100 // messages per second, in total
	)
	// CHAT_BENCH_CLIENTS overrides the client count (to find where latency
	// comes from); the figure is 1,000.
	clients, senders := 1000, 100
	if v, err := strconv.Atoi(os.Getenv("CHAT_BENCH_CLIENTS")); err == nil && v >= 2 {
		clients, senders = v, min(100, v/2)
	}
	for range b.N {
		runChatBench(b, clients, senders, duration, rate)
	}
}

type benchReceiver struct {
	conn      *benchConn
	latencies []time.Duration
	relayed   []time.Duration // the subset sent through the other node (and Redis)
	node      int
	lastSeq   []int32 // per sender, to check order
	dupOrOOO  int
}

func runChatBench(b *testing.B, nClients, nSenders int, duration time.Duration, rate int) {
	srv := redistest.Start(b)
	// Each node is its own process (the test binary re-executed), as in
	// production; the clients run here, on raw sockets read by epoll loops
	// (bench_client_linux_test.go) so they take little of the nodes' CPU.
	nodes := []*benchNode{startBenchNode(b, srv.Addr), startBenchNode(b, srv.Addr)}
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url+"/api/gigs/bench/chat")
	}

	perSender := int(duration.Seconds()) * rate / nSenders
	recv := make([]*benchReceiver, nClients)
	var counts = make([]atomic.Int32, nSenders*perSender)
	var dialWG sync.WaitGroup
	var dialErr atomic.Value
	sem := make(chan struct{}, 32)
	for i := range nClients {
		dialWG.Add(1)
		go func() {
			defer dialWG.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			conn, err := dialBenchConn(urls[i%2])
			if err != nil {
				dialErr.Store(err)
				return
			}
			if err := conn.writeText(joinFrame(i)); err != nil {
				dialErr.Store(err)
				return
			}
			if err := conn.readUntil([]byte(`"history"`)); err != nil {
				dialErr.Store(fmt.Errorf("client %d waiting for history: %w", i, err))
				return
			}
			r := &benchReceiver{conn: conn, node: i % 2, latencies: make([]time.Duration, 0, nSenders*perSender), lastSeq: make([]int32, nSenders)}
			for s := range r.lastSeq {
				r.lastSeq[s] = -1
			}
			recv[i] = r
		}()
	}
	dialWG.Wait()
	if err := dialErr.Load(); err != nil {
		b.Fatalf("connect clients: %v", err)
	}

	// Sender s writes on client s*(nClients/nSenders)+s%2, on node (that index)%2.
	senderNode := func(s int) int { return (s*(nClients/nSenders) + s%2) % 2 }
	// Receivers parse only the text, which carries sender, sequence and send time.
	marker := []byte(`"text":"b `)
	onFrame := func(r *benchReceiver) func(now time.Time, data []byte) {
		return func(now time.Time, data []byte) {
			i := bytes.Index(data, marker)
			if i < 0 {
				return
			}
			rest := data[i+len(marker):]
			var nums [3]int64
			for k := 0; k < 3 && len(rest) > 0; k++ {
				for len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
					nums[k] = nums[k]*10 + int64(rest[0]-'0')
					rest = rest[1:]
				}
				if len(rest) > 0 {
					rest = rest[1:] // the space or the closing quote
				}
			}
			sender, seq, sent := int(nums[0]), int(nums[1]), nums[2]
			lat := now.Sub(time.Unix(0, sent))
			r.latencies = append(r.latencies, lat)
			if senderNode(sender) != r.node {
				r.relayed = append(r.relayed, lat)
			}
			counts[sender*perSender+seq].Add(1)
			if int32(seq) <= r.lastSeq[sender] {
				r.dupOrOOO++
			}
			r.lastSeq[sender] = int32(seq)
		}
	}
	// One epoll loop per CPU, each with its share of the clients.
	pollers := make([]*benchPoller, max(1, runtime.NumCPU()))
	for k := range pollers {
		p, err := newBenchPoller()
		if err != nil {
			b.Fatal(err)
		}
		pollers[k] = p
	}
	for i, r := range recv {
		r.conn.feed(nil, func(data []byte) { onFrame(r)(time.Now(), data) }) // frames read with the history
		if err := pollers[i%len(pollers)].add(r.conn, onFrame(r)); err != nil {
			b.Fatal(err)
		}
	}
	stopPoll := make(chan struct{})
	var readWG sync.WaitGroup
	for _, p := range pollers {
		readWG.Add(1)
		go func() { defer readWG.Done(); p.run(stopPoll) }()
	}

	var cpu0 []time.Duration
	for _, n := range nodes {
		c, _, _ := n.stats(b)
		cpu0 = append(cpu0, c)
	}
	b.ResetTimer()
	start := time.Now()
	var sendWG sync.WaitGroup
	interval := time.Duration(nSenders) * time.Second / time.Duration(rate)
	for s := range nSenders {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			// Client i is on node i%2: alternate senders between the nodes.
			conn := recv[s*(nClients/nSenders)+s%2].conn
			// Stagger senders evenly across the interval.
			time.Sleep(time.Duration(s) * interval / time.Duration(nSenders))
			t := time.NewTicker(interval)
			defer t.Stop()
			for seq := range perSender {
				msg := fmt.Sprintf(`{"type":"message","text":"b %d %d %d"}`, s, seq, time.Now().UnixNano())
				if err := conn.writeText([]byte(msg)); err != nil {
					return
				}
				<-t.C
			}
		}()
	}
	sendWG.Wait()
	time.Sleep(time.Second) // let the last messages arrive
	elapsed := time.Since(start)
	b.StopTimer()
	var nodeStats []string
	var maxCPU float64
	var maxRSS int64
	for i, n := range nodes {
		c, rss, heap := n.stats(b)
		pct := (c - cpu0[i]).Seconds() / elapsed.Seconds() * 100
		maxCPU = max(maxCPU, pct)
		maxRSS = max(maxRSS, rss)
		nodeStats = append(nodeStats, fmt.Sprintf("node%d: cpu=%.0f%% of one core, max rss=%.0f MiB, heap=%.0f MiB", i, pct, float64(rss)/1024, float64(heap)/(1<<20)))
	}
	close(stopPoll)
	readWG.Wait()
	for _, r := range recv {
		r.conn.close()
	}

	var all, relayed []time.Duration
	ooo := 0
	for _, r := range recv {
		all = append(all, r.latencies...)
		relayed = append(relayed, r.relayed...)
		ooo += r.dupOrOOO
	}
	missing, dup := 0, 0
	for i := range counts {
		switch n := int(counts[i].Load()); {
		case n < nClients:
			missing += nClients - n
		case n > nClients:
			dup += n - nClients
		}
	}
	slices.Sort(all)
	slices.Sort(relayed)
	pctOf := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	pct := func(p float64) time.Duration { return pctOf(all, p) }
	expected := nSenders * perSender * nClients
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(pctOf(relayed, 0.99).Microseconds())/1000, "relayed-p99-ms")
	b.ReportMetric(float64(len(all)), "delivered")
	b.ReportMetric(float64(missing), "missing")
	b.ReportMetric(float64(dup+ooo), "dup+reordered")
	b.ReportMetric(maxCPU, "node-cpu-%")
	b.ReportMetric(float64(maxRSS)/1024, "node-rss-MiB")
	b.Logf("clients=%d over 2 node processes on 1 redis, messages=%d, expected deliveries=%d, delivered=%d, missing=%d, dup/reordered=%d, latency p50=%s p99=%s max=%s (relayed through the other node: p50=%s p99=%s); %s",
		nClients, nSenders*perSender, expected, len(all), missing, dup+ooo, pct(0.5), pct(0.99), all[len(all)-1],
		pctOf(relayed, 0.5), pctOf(relayed, 0.99), strings.Join(nodeStats, "; "))
	if missing > 0 || dup+ooo > 0 {
		b.Errorf("delivery not exactly once in order: missing=%d dup/reordered=%d", missing, dup+ooo)
	}
}

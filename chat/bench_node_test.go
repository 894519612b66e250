package chat

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/childtest"
	"github.com/redis/go-redis/v9"
)

// benchNodeEnv, when set to a Redis address, turns the test binary into one
// chat node for BenchmarkChat1000Clients, so each node's CPU and memory can
// be measured on its own.
const benchNodeEnv = "BMG_CHAT_BENCH_NODE_REDIS"

func TestMain(m *testing.M) {
	if addr := os.Getenv(benchNodeEnv); addr != "" {
		os.Exit(runBenchNode(addr, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// runBenchNode serves one hub, prints "LISTEN <url>", answers "stats" lines
// with "STATS <cpu ns> <max rss KiB> <heap bytes>" and exits at EOF.
func runBenchNode(redisAddr string, in io.Reader, out io.Writer) int {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 20})
	defer rdb.Close()
	br, err := NewRedisBroker(RedisBrokerConfig{Client: rdb}, nil)
	if err != nil {
		fmt.Fprintln(out, "ERR", err)
		return 1
	}
	defer br.Close()
	coalesce, _ := time.ParseDuration(os.Getenv("CHAT_BENCH_COALESCE")) // the default when unset
	h, err := New(Config{MaxConnsPerIP: 100000, Coalesce: coalesce}, br, nil)
	if err != nil {
		fmt.Fprintln(out, "ERR", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(out, "ERR", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/gigs/{id}/chat", h.ServeWS)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(out, "LISTEN ws://%s\n", ln.Addr())
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "stats" {
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(out, "STATS %d %d %d\n", ru.Utime.Nano()+ru.Stime.Nano(), ru.Maxrss, ms.HeapInuse)
		}
	}
	_ = h.Close()
	_ = srv.Close()
	return 0
}

// benchNode is a chat node running in a child process.
type benchNode struct {
	*childtest.Child
	url string
}

func startBenchNode(tb testing.TB, redisAddr string) *benchNode {
	tb.Helper()
	n := &benchNode{Child: childtest.Start(tb, benchNodeEnv+"="+redisAddr)}
	if !n.Out.Scan() || !strings.HasPrefix(n.Out.Text(), "LISTEN ") {
		tb.Fatalf("bench node did not start: %q", n.Out.Text())
	}
	n.url = strings.TrimPrefix(n.Out.Text(), "LISTEN ")
	return n
}

// stats returns the node's CPU time so far, max RSS (KiB) and heap in use.
func (n *benchNode) stats(tb testing.TB) (cpu time.Duration, rssKiB int64, heap uint64) {
	tb.Helper()
	fmt.Fprintln(n.In, "stats")
	if !n.Out.Scan() {
		tb.Fatal("bench node gone")
	}
	var ns int64
	if _, err := fmt.Sscanf(n.Out.Text(), "STATS %d %d %d", &ns, &rssKiB, &heap); err != nil {
		tb.Fatalf("bench node stats %q: %v", n.Out.Text(), err)
	}
	return time.Duration(ns), rssKiB, heap
}

package chat

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

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
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	url string
}

func startBenchNode(tb testing.TB, redisAddr string) *benchNode {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchNodeEnv+"="+redisAddr)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start bench node: %v", err)
	}
	n := &benchNode{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	tb.Cleanup(func() {
		_ = n.in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if !n.out.Scan() || !strings.HasPrefix(n.out.Text(), "LISTEN ") {
		tb.Fatalf("bench node did not start: %q", n.out.Text())
	}
	n.url = strings.TrimPrefix(n.out.Text(), "LISTEN ")
	return n
}

// stats returns the node's CPU time so far, max RSS (KiB) and heap in use.
func (n *benchNode) stats(tb testing.TB) (cpu time.Duration, rssKiB int64, heap uint64) {
	tb.Helper()
	fmt.Fprintln(n.in, "stats")
	if !n.out.Scan() {
		tb.Fatal("bench node gone")
	}
	var ns int64
	if _, err := fmt.Sscanf(n.out.Text(), "STATS %d %d %d", &ns, &rssKiB, &heap); err != nil {
		tb.Fatalf("bench node stats %q: %v", n.out.Text(), err)
	}
	return time.Duration(ns), rssKiB, heap
}

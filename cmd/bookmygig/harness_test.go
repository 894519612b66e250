package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/syncbuf"
)

// binPath is the server binary built once for the process tests.
var binPath string

func TestMain(m *testing.M) {
	if spec := os.Getenv(attackerEnv); spec != "" {
		os.Exit(runAttacker(spec))
	}
	flag.Parse()
	if r := flag.Lookup("test.run"); r != nil && r.Value.String() == "^$" {
		// Benchmarks only (make bench): they run the server in process,
		// without the race-built binary the process tests need.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "bookmygig-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bookmygig")
	build := exec.Command("go", "build", "-race", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bookmygig:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one running bookmygig process.
type node struct {
	t        testing.TB
	cmd      *exec.Cmd
	HTTP     string          // http://127.0.0.1:port
	RTMP     string          // rtmp://127.0.0.1:port/live
	logs     *syncbuf.Buffer // the process's output, for assertions
	exited   chan struct{}
	exitCode int
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		p := freePort(t)
		c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			c.Close()
			return p
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// startNode runs the server binary on free loopback ports with extra args
// and waits until /healthz answers. The process gets SIGTERM at cleanup.
func startNode(t testing.TB, extra ...string) *node {
	t.Helper()
	httpPort, rtmpPort, rtcPort := freePort(t), freePort(t), freeUDPPort(t)
	args := append([]string{
		"--http-addr", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--rtmp-addr", "127.0.0.1:" + strconv.Itoa(rtmpPort),
		"--webrtc-port", strconv.Itoa(rtcPort),
		"--log-level", "debug",
		// Every test client comes from 127.0.0.1: no per-address media caps
		// or offer limit unless a test sets them (later flags win), and
		// loopback candidates as before.
		"--webrtc-max-sessions-per-ip", "0", "--whep-offer-limit", "100000/1s",
		"--flv-max-viewers-per-ip", "0", "--webrtc-allow-private-candidates", "true",
	}, extra...)
	n := &node{
		t:      t,
		HTTP:   "http://127.0.0.1:" + strconv.Itoa(httpPort),
		RTMP:   "rtmp://127.0.0.1:" + strconv.Itoa(rtmpPort) + "/live",
		logs:   &syncbuf.Buffer{},
		exited: make(chan struct{}),
	}
	n.cmd = exec.Command(binPath, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	n.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start bookmygig: %v", err)
	}
	go func() {
		_ = n.cmd.Wait()
		n.exitCode = n.cmd.ProcessState.ExitCode()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("server logs:\n%s", n.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(n.HTTP + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.exited:
			t.Fatalf("bookmygig exited with %d during start-up:\n%s", n.exitCode, n.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bookmygig did not become healthy in 20s:\n%s", n.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns how long the process took to exit.
func (n *node) stop(limit time.Duration) time.Duration {
	select {
	case <-n.exited:
		return 0
	default:
	}
	start := time.Now()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		return time.Since(start)
	case <-time.After(limit):
		_ = n.cmd.Process.Kill()
		<-n.exited
		n.t.Errorf("bookmygig did not exit within %s of SIGTERM", limit)
		return limit
	}
}

// kill ends the process abruptly, as a crash would.
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// assertLogsFree fails if any of the secrets appears in the logs.
func (n *node) assertLogsFree(t *testing.T, secrets ...string) {
	t.Helper()
	logs := n.logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Fatalf("server logs contain a secret (%.6s...)", s)
		}
	}
}

// Package stripemock starts Stripe's official API mock, the stripe-mock
// binary, on a free loopback port for tests. A missing binary is a test
// failure that says how to install it, never a silent skip.
package stripemock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the stripe-mock release the tests are written against.
const Version = "v0.203.0"

const (
	// The mock loads its OpenAPI spec before it listens; under -race on a
	// busy machine that takes a few seconds.
	startTimeout = 20 * time.Second
	httpPrefix   = "Listening for HTTP at address: "
)

// notFound is the failure message when the binary is missing.
var notFound = "stripe-mock not found: run `go install github.com/stripe/stripe-mock@" + Version + "` (or bash scripts/deps.sh test)"

// Start launches stripe-mock on a free 127.0.0.1 port, waits until it
// answers API requests and stops it when t ends. It returns the base URL
// (http://127.0.0.1:port) to give stripe-go as its API URL.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := find()
	if err != nil {
		t.Fatal(notFound)
	}
	m, err := launch(bin)
	if err != nil {
		t.Fatalf("stripemock: %v", err)
	}
	t.Cleanup(m.stop)
	return m.url
}

// find looks on PATH, then where `go install` puts binaries.
func find() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		for _, p := range filepath.SplitList(d) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("stripe-mock not found")
}

type mock struct {
	cmd     *exec.Cmd
	url     string
	drained chan struct{}
}

// launch starts the binary with both listeners on kernel-chosen loopback
// ports (no probe-then-bind race) and reads the HTTP address it prints.
func launch(bin string) (*mock, error) {
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	// Our own pipe rather than StdoutPipe: the reader sees EOF when the
	// child exits, and Wait never closes it under the reading goroutine.
	out, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m := &mock{cmd: cmd, drained: make(chan struct{})}
	addr := make(chan string, 1)
	var seen strings.Builder
	go func() {
		defer close(m.drained)
		defer out.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, httpPrefix); ok {
				select {
				case addr <- strings.TrimSpace(a):
				default:
				}
				continue
			}
			if seen.Len() < 4096 && len(addr) == 0 {
				seen.WriteString(line + "\n")
			}
		}
		// Keep reading so the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, out)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case a := <-addr:
		m.url = "http://" + a
	case <-m.drained:
		m.stop()
		return nil, fmt.Errorf("stripe-mock exited before listening: %s", seen.String())
	case <-timer.C:
		m.stop()
		return nil, fmt.Errorf("stripe-mock did not print its HTTP address within %s", startTimeout)
	}
	if err := waitReady(m.url, startTimeout); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// waitReady polls an endpoint every stripe-mock version serves until it
// answers 200.
func waitReady(base string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/balance", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer sk_test_stripemock")
		res, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /v1/balance: %s", res.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("stripe-mock at %s not ready within %s: %v", base, timeout, last)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// stop kills the process and waits for it and the output reader. It is safe
// to call more than once.
func (m *mock) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	<-m.drained
	m.cmd = nil
}

// Package browsertest runs the Node/playwright-core scripts in e2e/ against
// Debian's chromium from Go tests. A missing prerequisite fails the test with
// the command that installs it; nothing is skipped silently and no browser is
// ever downloaded.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Dir returns the absolute path of the repository's e2e folder.
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("browsertest: cannot locate source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "e2e")
}

// Require fails t unless node, chromium and e2e/node_modules are present.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found: install Node.js 20 (Debian: apt-get install -y nodejs npm)")
	}
	chromium := os.Getenv("BMG_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium not found at %s: install it with `apt-get install -y chromium` (or run `make test`)", chromium)
	}
	if _, err := os.Stat(filepath.Join(Dir(t), "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core missing: run `npm ci --prefix e2e` (or `make test`)")
	}
}

// Run runs `node e2e/<script> args...` and decodes the last line of its
// standard output, which the script prints as JSON, into out. Standard error
// is logged to t.
func Run(t testing.TB, timeout time.Duration, out any, script string, args ...string) error {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(Dir(t), script)}, args...)...)
	cmd.Dir = Dir(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", script, stderr.String())
	}
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	last := lines[len(lines)-1]
	if len(last) > 0 && out != nil {
		if err := json.Unmarshal(last, out); err != nil {
			t.Logf("%s stdout:\n%s", script, stdout.String())
			return err
		}
	}
	return runErr
}

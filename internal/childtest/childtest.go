// Package childtest re-runs the current test binary as a child process
// with one extra environment variable, talking to it over stdin and
// stdout: for load generators and servers that must be measured, or
// prioritized, apart from the test process. The child's TestMain checks
// the variable and runs its role instead of the tests; it should exit when
// its stdin closes.
package childtest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Child is a running child test binary.
type Child struct {
	Cmd  *exec.Cmd
	In   io.WriteCloser
	Out  *bufio.Scanner
	once sync.Once
}

// Start runs os.Args[0] with no tests selected and env ("NAME=value")
// added, behind the optional command prefix (for example "nice", "-n",
// "19"). Close runs at cleanup.
func Start(tb testing.TB, env string, prefix ...string) *Child {
	tb.Helper()
	args := append(append([]string{}, prefix...), os.Args[0], "-test.run=^$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start child %v: %v", args, err)
	}
	c := &Child{Cmd: cmd, In: in, Out: bufio.NewScanner(out)}
	tb.Cleanup(c.Close)
	return c
}

// Close closes the child's stdin and waits for it to exit, killing it
// after 10 s. Idempotent.
func (c *Child) Close() {
	c.once.Do(func() {
		_ = c.In.Close()
		done := make(chan struct{})
		go func() { _ = c.Cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Cmd.Process.Kill()
			<-done
		}
	})
}

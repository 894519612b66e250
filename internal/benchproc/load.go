package benchproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"time"
)

// Window is what this process measured of itself while a load generator
// ran: its CPU time when the generator began and ended its measured window,
// and its memory at the end.
type Window struct {
	// CPUStart and CPUEnd are user plus system CPU time (CPUTotal).
	CPUStart, CPUEnd time.Duration
	// SysStart and SysEnd are system CPU time alone.
	SysStart, SysEnd time.Duration
	// GoMem and RSS are taken at the window's end.
	GoMem, RSS uint64
	// Exit is how the load generator ended (exec.Cmd.Wait's error).
	Exit error
}

// Load runs a load generator, args being its command line, that prints
// "window_start" and "window_end" on lines of their own around the window
// it measures, then its results as one JSON line (decoded into result);
// its stderr is this process's. At each mark Load samples this process's
// CPU first, then calls mark (if set) with end false, then true: the place
// for a figure of the caller's own, such as a write counter. With profile
// set, a CPU profile of the window is written there. The error is one of
// starting the generator or reading its output (the generator is then
// killed); how it exited is in Window.Exit.
func Load(args []string, result any, profile string, mark func(end bool)) (Window, error) {
	var w Window
	cmd := exec.Command(args[0], args[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return w, fmt.Errorf("load %s: %w", args[0], err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return w, fmt.Errorf("load %s: %w", args[0], err)
	}
	var prof *os.File
	stopProfile := func() {
		if prof != nil {
			pprof.StopCPUProfile()
			_ = prof.Close()
			prof = nil
		}
	}
	defer stopProfile()
	fail := func(err error) (Window, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return w, fmt.Errorf("load %s: %w", args[0], err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "window_start":
			w.CPUStart = CPUTotal()
			_, w.SysStart = CPU()
			if mark != nil {
				mark(false)
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return fail(err)
				}
				prof = f
				if err := pprof.StartCPUProfile(f); err != nil {
					return fail(err)
				}
			}
		case line == "window_end":
			w.CPUEnd = CPUTotal()
			_, w.SysEnd = CPU()
			if mark != nil {
				mark(true)
			}
			stopProfile()
			w.GoMem, w.RSS = GoMem(), RSS()
		case strings.HasPrefix(line, "{"):
			if err := json.Unmarshal([]byte(line), result); err != nil {
				return fail(fmt.Errorf("results: %w", err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fail(err)
	}
	w.Exit = cmd.Wait()
	return w, nil
}

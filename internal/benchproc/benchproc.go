// Package benchproc is what the fan-out benchmarks measure a server process
// with: its CPU time, its Go and resident memory, and pinning it to one core
// with its load generator on the other.
package benchproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU is the user and system CPU time this process has used so far
// (getrusage RUSAGE_SELF; child processes are not included).
func CPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// CPUTotal is user plus system CPU time.
func CPUTotal() time.Duration {
	u, s := CPU()
	return u + s
}

// GoMem is the Go heap and stacks in use after a collection.
func GoMem() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// RSS is the resident set size (/proc/self/statm), 0 where that is absent.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// Pin moves every thread of this process to CPU 0 and sets GOMAXPROCS to 1,
// and returns the command prefix that starts a load generator on CPU 1
// ("taskset -c 1"). It fails where taskset is missing or there is one CPU;
// the caller then runs unpinned.
func Pin() ([]string, error) {
	if runtime.NumCPU() < 2 {
		return nil, fmt.Errorf("pin: %d CPU", runtime.NumCPU())
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return nil, fmt.Errorf("pin: %w (Debian package util-linux)", err)
	}
	if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pin: taskset: %v %s", err, out)
	}
	runtime.GOMAXPROCS(1)
	return []string{"taskset", "-c", "1"}, nil
}

// Counts reads a comma-separated list of viewer counts from the environment
// variable name ("1,100,500"), or returns def when it is unset.
func Counts(name string, def ...int) ([]int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: want counts like 1,100,500", name, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// Duration reads a duration ("10s") from the environment variable name, or
// returns def when it is unset.
func Duration(name string, def time.Duration) (time.Duration, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a duration like 10s", name, s)
	}
	return d, nil
}

// Build compiles the command in package directory pkg into dir and returns
// the binary's path.
func Build(pkg, dir string) (string, error) {
	abs, err := filepath.Abs(pkg)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(abs))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

package benchproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCPUCountsWorkDone(t *testing.T) {
	u0, s0 := CPU()
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	u1, s1 := CPU()
	if spent := u1 - u0 + s1 - s0; spent < 20*time.Millisecond {
		t.Fatalf("50 ms of busy work counted as %v of CPU (%d loops)", spent, x)
	}
	if CPUTotal() < u1+s1 {
		t.Fatal("CPUTotal went backwards")
	}
}

func TestMemoryFiguresSeeAnAllocation(t *testing.T) {
	before, rss0 := GoMem(), RSS()
	if rss0 == 0 {
		t.Fatal("RSS is 0: /proc/self/statm unreadable")
	}
	buf := make([][]byte, 64)
	for i := range buf {
		buf[i] = make([]byte, 1<<20)
		for j := range buf[i] {
			buf[i][j] = byte(j)
		}
	}
	after, rss1 := GoMem(), RSS()
	runtime.KeepAlive(buf)
	if after < before+60<<20 {
		t.Fatalf("Go memory %d -> %d after allocating 64 MiB", before, after)
	}
	if rss1 < rss0+60<<20 {
		t.Fatalf("RSS %d -> %d after touching 64 MiB", rss0, rss1)
	}
}

func TestPinMovesTheProcessToCPU0(t *testing.T) {
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Fatal("taskset not found: apt-get install util-linux")
	}
	if runtime.NumCPU() < 2 {
		t.Fatalf("%d CPU: pinning needs 2", runtime.NumCPU())
	}
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		_ = exec.Command("taskset", "-a", "-p", "-c", "0-"+strconv.Itoa(runtime.NumCPU()-1), strconv.Itoa(os.Getpid())).Run()
		runtime.GOMAXPROCS(procs)
	})
	prefix, err := Pin()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(prefix, " ") != "taskset -c 1" || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("prefix %q, GOMAXPROCS %d", prefix, runtime.GOMAXPROCS(0))
	}
	status, _ := os.ReadFile("/proc/self/status")
	if !strings.Contains(string(status), "Cpus_allowed_list:\t0\n") {
		t.Fatalf("after Pin, /proc/self/status says:\n%s", status)
	}
	out, err := exec.Command(prefix[0], append(prefix[1:], "grep", "Cpus_allowed_list", "/proc/self/status")...).Output()
	if err != nil || strings.TrimSpace(string(out)) != "Cpus_allowed_list:\t1" {
		t.Fatalf("a load started with %q runs on %q (%v)", prefix, out, err)
	}
}

func TestCountsAndDurationFromTheEnvironment(t *testing.T) {
	t.Setenv("BENCHPROC_N", "")
	if got, err := Counts("BENCHPROC_N", 1, 100); err != nil || len(got) != 2 || got[1] != 100 {
		t.Fatalf("unset: %v %v", got, err)
	}
	t.Setenv("BENCHPROC_N", "5, 50,500")
	if got, err := Counts("BENCHPROC_N", 1); err != nil || len(got) != 3 || got[0] != 5 || got[2] != 500 {
		t.Fatalf("5, 50,500: %v %v", got, err)
	}
	t.Setenv("BENCHPROC_N", "5,x")
	if _, err := Counts("BENCHPROC_N", 1); err == nil || !strings.Contains(err.Error(), "BENCHPROC_N") {
		t.Fatalf("5,x: %v", err)
	}
	t.Setenv("BENCHPROC_W", "3s")
	if d, err := Duration("BENCHPROC_W", time.Second); err != nil || d != 3*time.Second {
		t.Fatalf("3s: %v %v", d, err)
	}
	t.Setenv("BENCHPROC_W", "soon")
	if _, err := Duration("BENCHPROC_W", time.Second); err == nil {
		t.Fatal("soon: no error")
	}
}

func TestBuildMakesARunnableBinary(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "hello")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// go build of a path outside this module: run it from the module.
	wd, _ := os.Getwd()
	t.Chdir(src)
	bin, err := Build(".", t.TempDir())
	t.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hi" {
		t.Fatalf("%s: %q %v", bin, out, err)
	}
	if _, err := Build("./does-not-exist", dir); err == nil {
		t.Fatal("building a missing package: no error")
	}
}

func TestFloorMeasuresTheKernelPattern(t *testing.T) {
	bin, err := Build("../../bench/floor", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"tcp", "udp"} {
		r, err := Floor(bin, mode, 20, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r.MsPerReaderSec <= 0 || r.User+r.Sys <= 0 || !strings.HasPrefix(r.Line, "floor "+mode) {
			t.Fatalf("%s: %+v", mode, r)
		}
	}
	if _, err := Floor(bin, "sctp", 1, time.Second); err == nil {
		t.Fatal("an unknown mode gave no error")
	}
}

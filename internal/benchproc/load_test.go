package benchproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadSamplesTheWindowAndDecodesResults(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	var marks []bool
	var res struct {
		Viewers int `json:"viewers"`
	}
	script := `echo noise; echo window_start; echo window_end; echo '{"viewers":7}'; exit 3`
	w, err := Load([]string{"sh", "-c", script}, &res, profile, func(end bool) { marks = append(marks, end) })
	if err != nil {
		t.Fatal(err)
	}
	if len(marks) != 2 || marks[0] || !marks[1] {
		t.Fatalf("marks %v, want [false true]", marks)
	}
	if res.Viewers != 7 {
		t.Fatalf("result %+v, want 7 viewers", res)
	}
	if w.CPUEnd < w.CPUStart || w.SysEnd < w.SysStart || w.CPUStart == 0 || w.GoMem == 0 || w.RSS == 0 {
		t.Fatalf("window %+v", w)
	}
	if w.Exit == nil || !strings.Contains(w.Exit.Error(), "exit status 3") {
		t.Fatalf("exit %v, want exit status 3", w.Exit)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Fatalf("profile: %v", err)
	}
}

func TestLoadFailures(t *testing.T) {
	var res map[string]any
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing generator", []string{filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"bad results", []string{"sh", "-c", "echo '{oops'; exec sleep 30"}, "results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Load(tt.args, &res, "", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("the generator was not killed")
			}
		})
	}
}

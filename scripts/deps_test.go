// Package scripts holds the tests of the repository's shell scripts.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeNode puts a node on PATH that reports version v, as Debian 12's
// apt-installed Node 18 would, and otherwise runs the real node (npm runs
// on it).
func fakeNode(t *testing.T, v string) string {
	t.Helper()
	real, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20 (bash scripts/deps.sh build)")
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo v" + v + "; exit 0; fi\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "node"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runDeps(t *testing.T, path string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "deps.sh", "node")
	cmd.Env = append(os.Environ(), "PATH="+path+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDepsRefusesOldNode: Debian 12's apt gives Node 18, which Vite 8
// rejects; deps.sh must say so first, with the version it needs and how to
// get it, instead of failing later inside the web build.
func TestDepsRefusesOldNode(t *testing.T) {
	out, err := runDeps(t, fakeNode(t, "18.19.0"), "BMG_NODE_INSTALL=0")
	if err == nil {
		t.Fatalf("deps.sh accepted Node 18:\n%s", out)
	}
	for _, want := range []string{"needs Node.js 20.19+", "found v18.19.0", "npm install"} {
		if !strings.Contains(out, want) {
			t.Fatalf("message lacks %q:\n%s", want, out)
		}
	}
	if out, err := runDeps(t, fakeNode(t, "20.20.2"), "BMG_NODE_INSTALL=0"); err != nil {
		t.Fatalf("deps.sh refused Node 20.20.2: %v\n%s", err, out)
	}
}

// TestDepsInstallsNode20: with an old Node and npm, deps.sh installs
// Node 20 from the npm registry and puts it first on PATH (here into a
// temporary prefix instead of /opt and /usr/local/bin).
func TestDepsInstallsNode20(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm not found: install Node.js 20 with npm (bash scripts/deps.sh build)")
	}
	prefix, bindir := t.TempDir(), t.TempDir()
	out, err := runDeps(t, fakeNode(t, "18.19.0"), "BMG_NODE_PREFIX="+prefix, "BMG_NODE_BINDIR="+bindir)
	if err != nil {
		t.Fatalf("deps.sh node: %v\n%s", err, out)
	}
	v, err := exec.Command(filepath.Join(bindir, "node"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(v), "v20.") {
		t.Fatalf("installed node: %q %v\n%s", v, err, out)
	}
}

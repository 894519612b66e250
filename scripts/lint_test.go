package scripts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The depguard rules of ../.golangci.yml are checked on a small module made
// of empty packages with the real module path, not on the real code: that
// takes seconds, and a failure here means the rules changed, not the code.

// tree maps a file (slash path under the module root) to the packages it
// imports: ours module-relative (see ours), others from the standard
// library. Test files are external test packages, so they form no cycle.
type tree map[string][]string

// cleanTree holds today's imports (go list's Imports and TestImports) and a
// few more the rules mean to allow (internal packages), which must pass.
var cleanTree = tree{
	"media/stream.go":             {"sync", "time"},
	"media/stream_test.go":        {"testing"},
	"access/gate.go":              {"errors"},
	"access/accesstest/gate.go":   {"access"},
	"ingest/server.go":            {"media", "internal/clientip"},
	"ingest/ingesttest/pub.go":    {"ingest", "media"},
	"ingest/server_test.go":       {"ingest/ingesttest", "internal/childtest"},
	"sfu/sfu.go":                  {"media", "access", "internal/httperr"},
	"sfu/e2e_test.go":             {"flv", "ingest", "ingest/ingesttest", "transcode", "access/accesstest", "internal/browsertest"},
	"flv/handler.go":              {"media", "access", "internal/httperr"},
	"flv/rtmp_test.go":            {"ingest", "ingest/ingesttest", "access/accesstest"},
	"transcode/aac.go":            {"media"},
	"transcode/bench_test.go":     {"internal/benchproc"},
	"chat/hub.go":                 {"access", "internal/redissub"},
	"chat/hub_test.go":            {"internal/redistest", "internal/childtest"},
	"store/store.go":              {"internal/secret"},
	"store/store_test.go":         {"internal/redistest"},
	"ticket/ticket.go":            {"access", "store", "internal/redissub", "internal/secret"},
	"payment/stripe.go":           {"ticket"},
	"payment/stripe_test.go":      {"internal/stripemock"},
	"api/router.go":               {"store", "ticket", "payment", "internal/httperr"},
	"api/router_test.go":          {"access", "internal/redistest", "internal/stripemock"},
	"web/web.go":                  {"embed"},
	"metrics/metrics.go":          {"net/http"},
	"internal/redissub/sub.go":    {"context"},
	"internal/redissub/x_test.go": {"internal/redistest"},
	"internal/redistest/redis.go": {"os/exec"},
	"internal/browsertest/b.go":   {"os/exec"},
	"internal/childtest/c.go":     {"os"},
	"internal/stripemock/s.go":    {"os/exec"},
	"internal/benchproc/p.go":     {"os"},
	"internal/clientip/ip.go":     {"net"},
	"internal/httperr/err.go":     {"net/http"},
	"internal/secret/secret.go":   {"crypto/rand"},
	"bench/floor/main.go":         {"internal/benchproc"},
	"cmd/bookmygig/main.go": {"access", "api", "chat", "flv", "ingest", "media", "metrics", "payment",
		"sfu", "store", "ticket", "transcode", "web", "internal/clientip", "internal/httperr"},
	"cmd/bookmygig/main_test.go": {"ingest/ingesttest", "internal/browsertest", "internal/childtest",
		"internal/redistest", "internal/stripemock"},
}

// badProduction: each bad_*.go file goes against the graph and must be
// reported by the rule in its comment. The targets are empty packages, and
// the bad edges are chosen to form no import cycle (go list would refuse it).
var badProduction = tree{
	"media/bad_sfu.go":             {"sfu"},                // media
	"access/bad_internal.go":       {"internal/clientip"},  // access
	"chat/bad_sfu.go":              {"sfu"},                // chat
	"chat/bad_redistest.go":        {"internal/redistest"}, // test-helpers
	"store/bad_api.go":             {"api"},                // store
	"api/bad_sfu.go":               {"sfu"},                // api
	"web/bad_metrics.go":           {"metrics"},            // web
	"metrics/bad_ticket.go":        {"ticket"},             // metrics
	"ticket/bad_payment.go":        {"payment"},            // ticket
	"payment/bad_sfu.go":           {"sfu"},                // payment
	"internal/clientip/bad_sfu.go": {"sfu"},                // internal
	"sfu/bad_flv.go":               {"flv"},                // sfu
	"flv/bad_ingest.go":            {"ingest"},             // flv
	"ingest/bad_transcode.go":      {"transcode"},          // ingest
	"transcode/bad_ingesttest.go":  {"ingest/ingesttest"},  // transcode, test-helpers
	"bench/floor/bad_media.go":     {"media"},              // bench
	"bench/floor/main.go":          nil,
	"ingest/ingesttest/pub.go":     nil,
	"internal/redistest/redis.go":  nil,
}

// badTests: test files may use test helpers and, for the media packages,
// a sibling for an end-to-end test, but still never look up the graph.
// Added to cleanTree (test imports create no cycle there).
var badTests = tree{
	"media/bad_access_test.go":            {"access"}, // media
	"ingest/bad_sfu_test.go":              {"sfu"},    // ingest-tests
	"flv/bad_sfu_test.go":                 {"sfu"},    // flv-tests
	"sfu/bad_chat_test.go":                {"chat"},   // sfu-tests
	"transcode/bad_flv_test.go":           {"flv"},    // transcode-tests
	"chat/bad_media_test.go":              {"media"},  // chat
	"api/bad_sfu_test.go":                 {"sfu"},    // api
	"store/bad_chat_test.go":              {"chat"},   // store
	"internal/redissub/bad_store_test.go": {"store"},  // internal
}

// wantLists names the rule each bad file must be refused by.
var wantLists = map[string]string{
	"media/bad_sfu.go": "media", "access/bad_internal.go": "access", "chat/bad_sfu.go": "chat",
	"chat/bad_redistest.go": "test-helpers", "store/bad_api.go": "store", "api/bad_sfu.go": "api",
	"web/bad_metrics.go": "web", "metrics/bad_ticket.go": "metrics", "ticket/bad_payment.go": "ticket",
	"payment/bad_sfu.go": "payment", "internal/clientip/bad_sfu.go": "internal", "sfu/bad_flv.go": "sfu",
	"flv/bad_ingest.go": "flv", "ingest/bad_transcode.go": "ingest", "transcode/bad_ingesttest.go": "transcode",
	"bench/floor/bad_media.go": "bench",

	"media/bad_access_test.go": "media", "ingest/bad_sfu_test.go": "ingest-tests",
	"flv/bad_sfu_test.go": "flv-tests", "sfu/bad_chat_test.go": "sfu-tests",
	"transcode/bad_flv_test.go": "transcode-tests", "chat/bad_media_test.go": "chat",
	"api/bad_sfu_test.go": "api", "store/bad_chat_test.go": "store",
	"internal/redissub/bad_store_test.go": "internal",
}

// TestLintImportDirections: golangci-lint with the repository's
// .golangci.yml accepts today's import graph and refuses, file by file, an
// import against it (media importing sfu, a sibling media package, chat
// importing media, a test helper in production code, ...).
func TestLintImportDirections(t *testing.T) {
	lint := golangciLint(t)
	module := modulePath(t)

	t.Run("clean", func(t *testing.T) {
		dir := writeModule(t, module, cleanTree)
		if got := runLint(t, lint, dir); len(got) != 0 {
			t.Fatalf("golangci-lint refused imports of today's graph:\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("production", func(t *testing.T) {
		checkRefused(t, lint, writeModule(t, module, withEmptyTargets(badProduction)))
	})
	t.Run("tests", func(t *testing.T) {
		checkRefused(t, lint, writeModule(t, module, merge(cleanTree, badTests)))
	})
}

// checkRefused runs golangci-lint in dir and wants exactly the bad_* files
// there reported, each by its rule.
func checkRefused(t *testing.T, lint, dir string) {
	t.Helper()
	got := map[string][]string{}
	for _, line := range runLint(t, lint, dir) {
		file, text, _ := strings.Cut(line, ": ")
		got[file] = append(got[file], text)
	}
	bad, err := filepath.Glob(filepath.Join(dir, "*", "bad_*.go"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(dir, "*", "*", "bad_*.go"))
	for _, f := range append(bad, more...) {
		rel, _ := filepath.Rel(dir, f)
		rel = filepath.ToSlash(rel)
		texts, ok := got[rel]
		delete(got, rel)
		if !ok {
			t.Errorf("%s: forbidden import not reported", rel)
			continue
		}
		want := "from list '" + wantLists[rel] + "'"
		if !strings.Contains(strings.Join(texts, "\n"), want) {
			t.Errorf("%s: want a report %s, got:\n%s", rel, want, strings.Join(texts, "\n"))
		}
	}
	for file, texts := range got {
		t.Errorf("%s: allowed file reported:\n%s", file, strings.Join(texts, "\n"))
	}
}

// runLint returns golangci-lint's reports in dir as "file: text" lines; a
// failure other than reported issues (bad config, load error) fails t.
func runLint(t *testing.T, lint, dir string) []string {
	t.Helper()
	cmd := exec.Command(lint, "run", "--output.json.path=stdout", "--output.text.path=stderr", "./...")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct {
		Issues []struct {
			FromLinter string
			Text       string
			Pos        struct{ Filename string }
		}
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if jerr := json.Unmarshal([]byte(first), &res); jerr != nil {
		t.Fatalf("golangci-lint: %v (%v)\n%s%s", err, jerr, out, stderr.String())
	}
	var lines []string
	for _, is := range res.Issues {
		if is.FromLinter != "depguard" {
			t.Fatalf("golangci-lint: %s reported %s: %s (load error?)\n%s", is.FromLinter, is.Pos.Filename, is.Text, stderr.String())
		}
		lines = append(lines, filepath.ToSlash(is.Pos.Filename)+": "+is.Text)
	}
	if err != nil && len(lines) == 0 {
		t.Fatalf("golangci-lint: %v\n%s", err, stderr.String())
	}
	sort.Strings(lines)
	return lines
}

// writeModule writes a module with the repository's path and .golangci.yml,
// and one Go file per entry of files.
func writeModule(t *testing.T, module string, files tree) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := os.ReadFile("../.golangci.yml")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, ".golangci.yml"), string(cfg))
	write(t, filepath.Join(dir, "go.mod"), "module "+module+"\n\ngo 1.22\n")
	for file, imports := range files {
		pkg := path.Base(path.Dir(file))
		if strings.HasPrefix(file, "cmd/") || strings.HasPrefix(file, "bench/") {
			pkg = "main"
		}
		if strings.HasSuffix(file, "_test.go") {
			pkg += "_test" // external: a test import can then form no cycle
		}
		var b strings.Builder
		fmt.Fprintf(&b, "package %s\n\nimport (\n", pkg)
		for _, imp := range imports {
			if ours(imp) {
				imp = module + "/" + imp
			}
			fmt.Fprintf(&b, "\t_ %q\n", imp)
		}
		b.WriteString(")\n")
		if path.Base(file) == "main.go" {
			b.WriteString("\nfunc main() {}\n")
		}
		write(t, filepath.Join(dir, filepath.FromSlash(file)), b.String())
	}
	return dir
}

// ours tells a package of the module (as written in the trees) from one of
// the standard library.
func ours(imp string) bool {
	top, _, _ := strings.Cut(imp, "/")
	switch top {
	case "access", "api", "bench", "chat", "cmd", "flv", "ingest", "internal", "media",
		"metrics", "payment", "sfu", "store", "ticket", "transcode", "web":
		return true
	}
	return false
}

// withEmptyTargets adds an empty file to every package a bad file imports
// that the tree does not have yet, so that it loads.
func withEmptyTargets(files tree) tree {
	out := merge(files)
	have := map[string]bool{}
	for file := range files {
		have[path.Dir(file)] = true
	}
	for _, imports := range files {
		for _, imp := range imports {
			if ours(imp) && !have[imp] {
				out[imp+"/doc.go"] = nil
				have[imp] = true
			}
		}
	}
	return out
}

func merge(trees ...tree) tree {
	out := tree{}
	for _, tr := range trees {
		for k, v := range tr {
			out[k] = v
		}
	}
	return out
}

// golangciLint finds the golangci-lint `make lint` runs (GOBIN or
// GOPATH/bin first, then PATH) and checks it is the version deps.sh pins.
func golangciLint(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile("deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^golangci_lint_version=v(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("deps.sh pins no golangci_lint_version")
	}
	want := string(m[1])
	install := "go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v" + want + " (or bash scripts/deps.sh test)"
	gobin := goEnv(t, "GOBIN")
	if gobin == "" {
		gobin = filepath.Join(goEnv(t, "GOPATH"), "bin")
	}
	lint := filepath.Join(gobin, "golangci-lint")
	if _, err := os.Stat(lint); err != nil {
		if lint, err = exec.LookPath("golangci-lint"); err != nil {
			t.Fatalf("golangci-lint not found: %s", install)
		}
	}
	out, err := exec.Command(lint, "version", "--short").Output()
	if got := strings.TrimSpace(string(out)); err != nil || got != want {
		t.Fatalf("%s is version %q, want %s: %s", lint, got, want, install)
	}
	return lint
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

// modulePath reads the module path from the repository's go.mod.
func modulePath(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	return string(m[1])
}

func write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

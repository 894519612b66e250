package stripemock

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStartAnswersAndStops(t *testing.T) {
	var base string
	t.Run("start", func(t *testing.T) {
		base = Start(t)
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Fatalf("base URL %q, want http://127.0.0.1:port", base)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/customers", strings.NewReader("email=a%40example.com"))
		req.Header.Set("Authorization", "Bearer sk_test_123")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /v1/customers: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"object":"customer"`) {
			t.Fatalf("POST /v1/customers: %s %s", res.Status, body)
		}
	})
	// The subtest's cleanup has stopped the mock: its port refuses.
	c := &http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(base + "/v1/balance")
	if err == nil {
		_ = res.Body.Close()
		t.Fatalf("stripe-mock still answers at %s after cleanup", base)
	}
}

func TestTwoMocksGetDifferentPorts(t *testing.T) {
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("two mocks share %s", a)
	}
}

// fatalTB records Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

func TestMissingBinaryFailsWithInstallHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GOBIN", "")
	t.Setenv("GOPATH", "")
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f)
		t.Error("Start returned without failing")
	}()
	<-done
	want := "stripe-mock not found: run `go install github.com/stripe/stripe-mock@v0.203.0` (or bash scripts/deps.sh test)"
	if f.msg != want {
		t.Fatalf("failure message\n got %q\nwant %q", f.msg, want)
	}
}

package flv

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// stuckSink is a connection whose write blocks until it is killed.
type stuckSink struct {
	once   sync.Once
	killed chan struct{}
}

func (s *stuckSink) start([]byte) error { return nil }
func (s *stuckSink) write([]*tag) error { <-s.killed; return errors.New("use of closed connection") }
func (s *stuckSink) finish(bool)        {}
func (s *stuckSink) kill()              { s.once.Do(func() { close(s.killed) }) }

func TestPassWatchCutsStuckWrite(t *testing.T) {
	h := &Handler{}
	v := newViewer(8, true)
	out := &stuckSink{killed: make(chan struct{})}
	pass := access.NewPass("t1", "", false, "", nil)
	pw := h.watchPass(pass, v, out)
	wrote := make(chan error, 1)
	go func() {
		err := out.write(nil) // the viewer's goroutine, stuck
		pw.stop()
		wrote <- err
	}()
	start := time.Now()
	pass.End(access.ErrWatchingElsewhere)
	select {
	case err := <-wrote:
		d := time.Since(start)
		if err == nil || d < passKillAfter/2 || d > 2*time.Second {
			t.Fatalf("stuck write ended after %v with %v, want the kill after about %v", d, err, passKillAfter)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("stuck write never cut off")
	}
	if !errors.Is(v.endCause(), access.ErrWatchingElsewhere) {
		t.Fatalf("viewer's end cause %v", v.endCause())
	}
	if _, ended, aborted := v.take(nil); !ended || !aborted {
		t.Fatal("viewer not aborted")
	}
	if h.ctr.passEnded.Load() != 1 {
		t.Fatalf("passEnded %d", h.ctr.passEnded.Load())
	}
}

func TestPassWatchStoppedLeavesViewerAlone(t *testing.T) {
	h := &Handler{}
	v := newViewer(8, true)
	out := &stuckSink{killed: make(chan struct{})}
	pass := access.NewPass("t1", "", false, "", nil)
	pw := h.watchPass(pass, v, out)
	pw.stop()
	pass.Release() // what ServeHTTP does after run
	time.Sleep(50 * time.Millisecond)
	if v.endCause() != nil || h.ctr.passEnded.Load() != 0 {
		t.Fatalf("a stopped watch acted: cause %v", v.endCause())
	}
	select {
	case <-out.killed:
		t.Fatal("a stopped watch killed the connection")
	default:
	}
}

func TestCredential(t *testing.T) {
	for _, tc := range []struct {
		url, auth, want string
	}{
		{"/live/g.flv?ticket=tk_q", "", "tk_q"},
		{"/live/g.flv?ticket=tk_q", "Bearer tk_h", "tk_q"}, // the query wins
		{"/live/g.flv", "Bearer tk_h", "tk_h"},
		{"/live/g.flv", "bearer  tk_h ", "tk_h"},
		{"/live/g.flv", "Basic dTpw", ""},
		{"/live/g.flv?ticket=", "", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.url, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := credential(r); got != tc.want {
			t.Errorf("credential(%s, %q) = %q, want %q", tc.url, tc.auth, got, tc.want)
		}
	}
}

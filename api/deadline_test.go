package api

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyIsCut: a client that sends its headers at once and then
// dribbles the body a byte at a time gets 408 when the body timeout passes
// (ReadHeaderTimeout alone never ends it), on JSON and on raw-body routes;
// a body that arrives in time is served as usual.
func TestSlowBodyIsCut(t *testing.T) {
	env := newEnv(t, engines()[0], func(d *Deps) { d.BodyTimeout = 700 * time.Millisecond })
	addr := strings.TrimPrefix(env.srv.URL, "http://")
	for _, path := range []string{"/api/gigs"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		_, _ = conn.Write([]byte("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 30; i++ {
				time.Sleep(100 * time.Millisecond)
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer to a dribbled body: %v", path, err)
		}
		took := time.Since(start)
		if resp.StatusCode != http.StatusRequestTimeout || took > 2*time.Second {
			t.Fatalf("%s: %d after %v, want 408 soon after 700ms", path, resp.StatusCode, took)
		}
		t.Logf("%s: %d after %v", path, resp.StatusCode, took.Round(time.Millisecond))
		conn.Close()
		<-done
	}
	r := env.do("POST", "/api/gigs", gigInput("In time", testStart, "Comedy"))
	wantStatus(t, r, http.StatusCreated)
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// TestSentinelFailoverMidShow runs two nodes on a Sentinel-watched Redis
// (master, replica, three sentinels) and kills the master with SIGKILL
// during a live show while gigs are being written: the FLV viewer keeps
// playing without a disconnect, chat between the nodes resumes after the
// sentinels promote the replica, and every gig write that was acknowledged
// (201) is still there. Writes need a replica to be acknowledged, so while
// the new master has none they are refused (503), and they succeed again
// once the old master is back as its replica.
func TestSentinelFailoverMidShow(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	sen := redistest.StartSentinel(t)
	args := []string{"--redis", sen.URL(), "--gig-create-limit", "100000/1s"}
	a := startNode(t, append(args, "--node-id", "node-a")...)
	b := startNode(t, append(args, "--node-id", "node-b")...)

	g := a.createGig(t, "Failover show")
	ingesttest.Publish(t, a.RTMP+"/"+g.Credentials.StreamKey, ingesttest.Options{})
	a.waitStatus(t, g.ID, "live", 15*time.Second)
	flv := playFLV(t, a.HTTP+"/live/"+g.ID+".flv")
	waitFor(t, 10*time.Second, "FLV bytes", func() bool { return flv.bytes.Load() > 50_000 })

	ann := a.chat(t, g.ID)
	ann.join("Ann", nil)
	ben := b.chat(t, g.ID)
	ben.join("Ben", nil)
	if !relayUntil(ben, ann, "before", 5*time.Second) {
		t.Fatal("chat relay between the nodes does not work before the failover")
	}

	// Gig writes on both nodes throughout the failover.
	w := &gigWriter{nodes: []*node{a, b}, stop: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	time.Sleep(time.Second)

	old := sen.KillMaster(t)
	killed := time.Now()
	flv.resetGap()
	newMaster := sen.WaitFailover(t, old.Addr, 30*time.Second)
	failover := time.Since(killed)
	t.Logf("sentinels promoted %s %v after the kill -9 of %s", newMaster, failover.Round(time.Millisecond), old.Addr)

	// Chat resumes: Ben (node b) keeps talking until Ann (node a) hears him.
	if !relayUntil(ben, ann, "after", 15*time.Second) {
		t.Fatalf("chat relay did not resume within 15 s of the failover")
	}
	chatBack := time.Since(killed)
	t.Logf("chat relay resumed %v after the kill (%v after the promotion)", chatBack.Round(time.Millisecond), (chatBack - failover).Round(time.Millisecond))

	// Playback never stopped.
	before := flv.bytes.Load()
	time.Sleep(2 * time.Second)
	if got := flv.bytes.Load() - before; got < 30_000 {
		t.Fatalf("FLV viewer got %d bytes in 2 s after the failover", got)
	}
	if err := flv.err(); err != nil {
		t.Fatalf("FLV viewer disconnected: %v", err)
	}
	gap := time.Duration(flv.maxGap.Load())
	t.Logf("FLV viewer: longest gap between reads since the kill %v", gap.Round(time.Millisecond))
	if gap > 2*time.Second {
		t.Fatalf("FLV playback stalled for %v across the failover", gap)
	}

	// The old master comes back as a replica of the new one; writes are
	// acknowledged again.
	sen.Rejoin(t, old, newMaster)
	rejoined := time.Now()
	waitFor(t, 10*time.Second, "a gig write acknowledged after the rejoin", func() bool { return w.ackedSince(rejoined) > 0 })
	close(w.stop)
	w.wg.Wait()

	acked, refused := w.result()
	t.Logf("gig writes: %d acknowledged, %d refused (%s)", len(acked), len(refused), summarize(refused))
	if len(acked) < 10 {
		t.Fatalf("only %d gig writes were acknowledged", len(acked))
	}
	for _, ack := range acked {
		for _, n := range []*node{a, b} {
			if got := n.gig(t, ack.id); got.Title != ack.title {
				t.Fatalf("acknowledged gig %s (%s at %v, %v after the kill) read on %s: %+v", ack.id, ack.title, ack.at.Format(time.StampMilli), ack.at.Sub(killed), n.HTTP, got)
			}
		}
	}
	if got := b.gig(t, g.ID); got.Status != "live" {
		t.Fatalf("the show after the failover: %+v", got)
	}
	for _, n := range []*node{a, b} {
		n.assertLogsFree(t, g.Credentials.StreamKey, g.Credentials.ManageToken)
	}
}

// relayUntil makes from send messages until to hears one, for at most d.
func relayUntil(from, to *chatClient, text string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline); i++ {
		from.send(map[string]any{"type": "message", "text": fmt.Sprintf("%s %d", text, i)})
		wait := time.After(700 * time.Millisecond) // also keeps under the chat rate limit
	recv:
		for {
			select {
			case m := <-to.frames:
				if m["type"] == "message" && strings.HasPrefix(fmt.Sprint(m["text"]), text+" ") {
					return true
				}
			case <-wait:
				break recv
			}
		}
	}
	return false
}

// flvReader counts the bytes of one HTTP-FLV response and the longest
// pause between two reads.
type flvReader struct {
	bytes  atomic.Int64
	maxGap atomic.Int64 // ns
	last   atomic.Int64 // unix ns of the last read
	mu     sync.Mutex
	end    error
}

func playFLV(t *testing.T, url string) *flvReader {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("FLV: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	f := &flvReader{}
	f.last.Store(time.Now().UnixNano())
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			now := time.Now().UnixNano()
			if gap := now - f.last.Swap(now); gap > f.maxGap.Load() {
				f.maxGap.Store(gap)
			}
			f.bytes.Add(int64(n))
			if err != nil {
				f.mu.Lock()
				f.end = err
				f.mu.Unlock()
				return
			}
		}
	}()
	return f
}

func (f *flvReader) resetGap() { f.maxGap.Store(0) }

func (f *flvReader) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.end
}

// gigWriter creates gigs on its nodes in turn and records which were
// acknowledged (201) and what the others answered.
type gigWriter struct {
	nodes   []*node
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	acked   []ackedGig
	refused []string
}

type ackedGig struct {
	id, title string
	at        time.Time
}

func (w *gigWriter) run() {
	defer w.wg.Done()
	client := http.Client{Timeout: 3 * time.Second}
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		case <-time.After(25 * time.Millisecond):
		}
		n := w.nodes[i%len(w.nodes)]
		title := fmt.Sprintf("Write %d", i)
		start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		body, _ := json.Marshal(map[string]any{
			"creator_name": "Asha", "title": title, "description": "failover", "category": "Comedy", "price_minor": 0,
			"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(time.Hour).Format(time.RFC3339),
		})
		resp, err := client.Post(n.HTTP+"/api/gigs", "application/json", bytes.NewReader(body))
		if err != nil {
			w.refuse("error")
			continue
		}
		var g gigCreated
		decErr := json.NewDecoder(resp.Body).Decode(&g)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || decErr != nil || g.ID == "" {
			w.refuse(fmt.Sprint(resp.StatusCode))
			continue
		}
		w.mu.Lock()
		w.acked = append(w.acked, ackedGig{id: g.ID, title: title, at: time.Now()})
		w.mu.Unlock()
	}
}

func (w *gigWriter) refuse(why string) {
	w.mu.Lock()
	w.refused = append(w.refused, why)
	w.mu.Unlock()
}

func (w *gigWriter) ackedSince(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.acked {
		if a.at.After(t) {
			n++
		}
	}
	return n
}

func (w *gigWriter) result() ([]ackedGig, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ackedGig(nil), w.acked...), append([]string(nil), w.refused...)
}

func summarize(s []string) string {
	counts := map[string]int{}
	for _, v := range s {
		counts[v]++
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s x%d", k, v))
	}
	return strings.Join(parts, ", ")
}

// TestRedisFlagSentinel: --redis takes a redis-sentinel:// URL, refuses a
// malformed one, and the start-up log line hides its passwords.
func TestRedisFlagSentinel(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"redis-sentinel://127.0.0.1:26379/mymaster", true},
		{"redis-sentinel://:hunter2@a:26379,b:26379,c:26379/mymaster/1?sentinel_password=s3cret", true},
		{"redis-sentinel://a:26379", false},
		{"redis-sentinel://a/mymaster", false},
		{"redis-sentinel://a:26379/m?wait_replicas=x", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			cfg, err := parseConfig([]string{"--redis", tt.url}, env(nil), &bytes.Buffer{})
			if (err == nil) != tt.ok {
				t.Fatalf("parseConfig: err = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			var s strings.Builder
			for _, a := range cfg.redacted() {
				s.WriteString(toString(a) + " ")
			}
			if strings.Contains(s.String(), "hunter2") || strings.Contains(s.String(), "s3cret") {
				t.Fatalf("redacted config leaks a password: %s", s.String())
			}
			if !strings.Contains(s.String(), "mymaster") {
				t.Fatalf("redacted config lost the master: %s", s.String())
			}
		})
	}
}

package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/store"
)

// The benchmarks drive the router over real HTTP (httptest.Server, keep-alive
// clients) on both engines and report latency percentiles:
//
//	go test -run '^$' -bench . -benchtime 3000x ./api/
//
// Issue 2's goal with Redis on a 2-core machine: list p99 < 10 ms at
// 500 req/s, create p99 < 5 ms.

// latencies collects request durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	pct := func(p float64) float64 {
		i := min(int(float64(len(l.d))*p), len(l.d)-1)
		return float64(l.d[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "req/s")
}

type benchServer struct {
	srv    *httptest.Server
	client *http.Client
	store  store.Store
}

func newBenchServer(b *testing.B, e engine) *benchServer {
	st, _ := e.new(b)
	srv := httptest.NewServer(NewRouter(Deps{Store: st, Logger: slog.New(slog.DiscardHandler), Viewers: fixedViewers(3)}))
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchServer{srv: srv, client: &http.Client{Transport: tr}, store: st}
}

// seed creates n gigs directly in the store, a few of them live.
func (s *benchServer) seed(b *testing.B, n int) {
	ctx := context.Background()
	cats := store.Categories()
	for i := 0; i < n; i++ {
		start := testStart.Add(time.Duration(i) * 30 * time.Minute)
		in := store.GigInput{
			CreatorName: "Bench Creator", Title: fmt.Sprintf("Gig %d", i),
			Description: strings.Repeat("A show worth watching. ", 10), Category: string(cats[i%len(cats)]),
			PriceMinor: int64(i % 3 * 500), Currency: "USD",
			StartsAt: start.Format(time.RFC3339), EndsAt: start.Add(time.Hour).Format(time.RFC3339),
		}
		g, _, err := s.store.Create(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if i%100 == 0 {
			if err := s.store.SetStatus(ctx, g.ID, store.StatusLive, testStart); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func (s *benchServer) request(b *testing.B, method, path, body string, want int) time.Duration {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res, err := s.client.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	d := time.Since(start)
	if res.StatusCode != want {
		b.Errorf("%s %s: status %d", method, path, res.StatusCode)
	}
	return d
}

const benchCreateBody = `{"creator_name":"Bench","title":"Bench gig","description":"x","category":"Music",` +
	`"price_minor":1000,"currency":"USD","starts_at":"2030-06-01T18:00:00Z","ends_at":"2030-06-01T19:00:00Z"}`

// runParallel runs fn from 8 concurrent clients and reports percentiles.
func runParallel(b *testing.B, fn func() time.Duration) {
	var lat latencies
	b.SetParallelism(4) // 4 per CPU: 8 clients on this 2-core machine
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			local = append(local, fn())
		}
		lat.add(local)
	})
	b.StopTimer()
	lat.report(b, time.Since(start))
}

// runAtRate issues b.N requests at a fixed rate (open loop, so a slow
// response does not slow the offered load) and reports percentiles.
func runAtRate(b *testing.B, perSecond int, fn func() time.Duration) {
	var lat latencies
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	interval := time.Second / time.Duration(perSecond)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := fn()
			lat.add([]time.Duration{d})
			<-sem
		}()
	}
	wg.Wait()
	b.StopTimer()
	lat.report(b, time.Since(start))
}

func BenchmarkCreate(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := newBenchServer(b, e)
			runParallel(b, func() time.Duration { return s.request(b, "POST", "/api/gigs", benchCreateBody, 201) })
		})
	}
}

func BenchmarkList(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := newBenchServer(b, e)
			s.seed(b, 1000)
			b.Run("limit100", func(b *testing.B) {
				runParallel(b, func() time.Duration { return s.request(b, "GET", "/api/gigs?limit=100", "", 200) })
			})
			b.Run("category-limit20", func(b *testing.B) {
				runParallel(b, func() time.Duration { return s.request(b, "GET", "/api/gigs?category=Dance&limit=20", "", 200) })
			})
		})
	}
}

// BenchmarkListAt500rps is the list goal: 1,000 gigs, pages of the
// default size and of 100, offered at 500 requests per second.
func BenchmarkListAt500rps(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := newBenchServer(b, e)
			s.seed(b, 1000)
			for _, q := range []string{"", "?limit=100"} {
				b.Run("q="+strings.TrimPrefix(q, "?"), func(b *testing.B) {
					runAtRate(b, 500, func() time.Duration { return s.request(b, "GET", "/api/gigs"+q, "", 200) })
				})
			}
		})
	}
}

// BenchmarkCreateAt200rps measures create latency under a steady load.
func BenchmarkCreateAt200rps(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := newBenchServer(b, e)
			runAtRate(b, 200, func() time.Duration { return s.request(b, "POST", "/api/gigs", benchCreateBody, 201) })
		})
	}
}

package ticket

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/redistest"
)

// BenchmarkAdmit measures a media admission with a ticket (store check,
// one-screen bookkeeping, screen event) and its release, and reports the
// p99 of one admission. Goals: < 1 ms p99 in memory, < 3 ms on Redis.
func BenchmarkAdmit(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		s := NewMemoryStore()
		benchAdmit(b, newTestGate(b, newFakeGigs(), s, NewMemoryBus(), "bench"), s)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		s := newRedisStore(b, srv.URL())
		benchAdmit(b, newTestGate(b, newFakeGigs(), s, newRedisBus(b, s.Client()), "bench"), s)
	})
}

func benchAdmit(b *testing.B, g *Gate, s Store) {
	ctx := context.Background()
	toks := make([]string, 200)
	for i := range toks {
		_, toks[i] = mustIssue(b, s, freeIssue(gigA, 0))
	}
	lat := make([]time.Duration, 0, 1<<16)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		start := time.Now()
		p, err := g.Admit(ctx, access.Request{GigID: gigA, Credential: toks[i%len(toks)], Kind: access.Media})
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		p.Release()
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		}
		i++
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

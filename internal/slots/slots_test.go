package slots

import (
	"errors"
	"sync"
	"testing"
)

func TestAddrKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an ip", "not an ip"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := AddrKey(tt.in); got != tt.want {
				t.Errorf("AddrKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTake(t *testing.T) {
	type take struct {
		gig, addr string
		want      error
	}
	tests := []struct {
		name  string
		caps  Caps
		takes []take
	}{
		{"no caps", Caps{}, []take{{"g", "a", nil}, {"g", "a", nil}, {"g", "a", nil}}},
		{"gig cap", Caps{PerGig: 2}, []take{{"g", "a", nil}, {"g", "b", nil}, {"g", "c", ErrGigFull}, {"h", "c", nil}}},
		{"address cap", Caps{PerAddr: 1}, []take{{"g", "a", nil}, {"h", "a", ErrAddrFull}, {"g", "b", nil}}},
		{"gig cap first", Caps{PerGig: 1, PerAddr: 1}, []take{{"g", "a", nil}, {"g", "a", ErrGigFull}, {"h", "a", ErrAddrFull}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.caps)
			for i, tk := range tt.takes {
				if err := c.Take(tk.gig, tk.addr); !errors.Is(err, tk.want) {
					t.Fatalf("take %d (%s, %s): %v, want %v", i+1, tk.gig, tk.addr, err, tk.want)
				}
			}
		})
	}
}

func TestReleaseFreesAndForgets(t *testing.T) {
	c := New(Caps{PerGig: 1, PerAddr: 1})
	if err := c.Take("g", "a"); err != nil {
		t.Fatal(err)
	}
	if gig, addr := c.Taken("g", "a"); gig != 1 || addr != 1 || c.Total() != 1 {
		t.Fatalf("taken %d, %d, total %d", gig, addr, c.Total())
	}
	c.Release("g", "a")
	if c.Total() != 0 {
		t.Fatalf("total %d after release", c.Total())
	}
	if err := c.Take("g", "a"); err != nil {
		t.Fatalf("after release: %v", err)
	}
	c.Release("g", "a")
	if len(c.gigs) != 0 || len(c.addrs) != 0 {
		t.Fatalf("counts kept after the last release: %v %v", c.gigs, c.addrs)
	}
}

// TestTakeConcurrent: the caps hold however many viewers ask at once.
func TestTakeConcurrent(t *testing.T) {
	const perGig = 5
	c := New(Caps{PerGig: perGig})
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		took int
	)
	for range 50 {
		wg.Go(func() {
			if c.Take("g", "a") == nil {
				mu.Lock()
				took++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if took != perGig {
		t.Fatalf("%d slots taken, cap %d", took, perGig)
	}
}

package ratelimit

import (
	"context"
	"testing"
	"time"
)

// TestMemoryWindows: exact retry times, and windows that ended are swept
// so the map holds only recent keys (sfu counts WHEP offers with it).
func TestMemoryWindows(t *testing.T) {
	m := NewMemory(Rule{Limit: 3, Window: 10 * time.Second})
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	for i := range 3 {
		if ok, _, _ := m.Allow(ctx, "a", now.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if ok, retry, _ := m.Allow(ctx, "a", now.Add(4*time.Second)); ok || retry != 6*time.Second {
		t.Fatalf("4th event: ok=%v retry=%v, want refused for 6s", ok, retry)
	}
	if ok, _, _ := m.Allow(ctx, "b", now.Add(4*time.Second)); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _, _ := m.Allow(ctx, "a", now.Add(10*time.Second)); !ok {
		t.Fatal("refused in the next window")
	}
	m.Allow(ctx, "c", now.Add(30*time.Second))
	if len(m.wins) != 1 {
		t.Fatalf("%d windows kept, want 1", len(m.wins))
	}
}

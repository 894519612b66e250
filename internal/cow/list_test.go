package cow

import (
	"slices"
	"sync"
	"testing"
)

func TestList(t *testing.T) {
	var l List[int]
	if got := l.Load(); got != nil || l.Len() != 0 {
		t.Fatalf("zero list = %v", got)
	}
	tests := []struct {
		name string
		op   func() int
		n    int
		want []int
	}{
		{"add 1", func() int { return l.Add(1) }, 1, []int{1}},
		{"add 2", func() int { return l.Add(2) }, 2, []int{1, 2}},
		{"add 3", func() int { return l.Add(3) }, 3, []int{1, 2, 3}},
		{"remove 2", func() int { return l.Remove(2) }, 2, []int{1, 3}},
		{"remove absent", func() int { return l.Remove(9) }, 2, []int{1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := tt.op(); n != tt.n {
				t.Fatalf("length %d, want %d", n, tt.n)
			}
			if got := l.Load(); !slices.Equal(got, tt.want) {
				t.Fatalf("members %v, want %v", got, tt.want)
			}
		})
	}
	if old := l.Clear(); !slices.Equal(old, []int{1, 3}) || l.Len() != 0 {
		t.Fatalf("clear returned %v, left %v", old, l.Load())
	}
}

func TestListSnapshotNeverChanges(t *testing.T) {
	var l List[int]
	l.Add(1)
	l.Add(2)
	snap := l.Load()
	l.Remove(1)
	l.Add(3)
	if !slices.Equal(snap, []int{1, 2}) {
		t.Fatalf("snapshot changed to %v", snap)
	}
}

func TestListConcurrent(t *testing.T) {
	var l List[int]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); l.Add(i); l.Remove(i) }()
		go func() {
			defer wg.Done()
			for range 100 {
				for range l.Load() {
				}
			}
		}()
	}
	wg.Wait()
	if l.Len() != 0 {
		t.Fatalf("left %v", l.Load())
	}
}

func TestMap(t *testing.T) {
	var m Map[string, int]
	if m.Load()["a"] != 0 {
		t.Fatal("zero map has a value")
	}
	m.Edit(func(x map[string]int) { x["a"] = 1 })
	snap := m.Load()
	m.Edit(func(x map[string]int) { x["b"] = 2; delete(x, "a") })
	if len(snap) != 1 || snap["a"] != 1 {
		t.Fatalf("snapshot changed to %v", snap)
	}
	if got := m.Load(); len(got) != 1 || got["b"] != 2 {
		t.Fatalf("map = %v", got)
	}
}

func BenchmarkListLoad(b *testing.B) {
	var l List[*int]
	for range 100 {
		l.Add(new(int))
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, p := range l.Load() {
			n += *p
		}
	}
	_ = n
}

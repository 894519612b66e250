package ticket

import "testing"

func TestMemoryContract(t *testing.T) {
	runContract(t, func(t *testing.T) (Store, Store) {
		s := NewMemoryStore()
		return s, s
	})
}

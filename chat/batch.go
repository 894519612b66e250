package chat

import (
	"sync"

	"github.com/bookmygig/bookmygig/internal/wsframe"
)

// batch is frames that leave for a client together: one write, one syscall
// for a WebSocket. A room's batch is shared by all its members; it is never
// changed after it is queued.
type batch struct {
	frames []frame
	wsOnce sync.Once
	ws     []byte
}

func single(data []byte) *batch { return &batch{frames: []frame{{data: data}}} }

// wireRest is the unwritten end of a WebSocket batch's bytes.
func wireRest(p []byte) *batch {
	b := &batch{ws: p}
	b.wsOnce.Do(func() {})
	return b
}

// wsBytes returns the frames as WebSocket text frames, encoded on first use
// and then shared: server frames are unmasked and uncompressed, so every
// WebSocket member of a room puts the same bytes on the wire.
func (b *batch) wsBytes() []byte {
	b.wsOnce.Do(func() {
		n := 0
		for _, f := range b.frames {
			n += wsframe.MaxHeaderLen + len(f.data)
		}
		out := make([]byte, 0, n)
		for _, f := range b.frames {
			out = wsframe.AppendText(out, f.data)
		}
		b.ws = out
	})
	return b.ws
}

// without returns b minus the messages whose ids are in seen (nil when
// nothing is left), or b itself when none of them is.
func (b *batch) without(seen map[string]bool) *batch {
	keep := make([]frame, 0, len(b.frames))
	for _, f := range b.frames {
		if f.id == "" || !seen[f.id] {
			keep = append(keep, f)
		}
	}
	switch len(keep) {
	case len(b.frames):
		return b
	case 0:
		return nil
	}
	return &batch{frames: keep}
}

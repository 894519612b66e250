package sfu

import (
	"sync"
	"sync/atomic"
)

// packet is one RTP packet of a stream, shared by every viewer. It is
// immutable once appended to the ring; viewers rewrite only their own copy of
// the header (SSRC, sequence number, timestamp offset).
type packet struct {
	// pos is the packet's position in its ring (monotonic, never reused).
	pos     uint64
	audio   bool
	seq     uint16
	ts      uint32
	marker  bool
	keyHead bool // first packet of a video keyframe
	payload []byte
}

// seqIndexSize is how many recent packets per track a NACK can name; with
// ~300 video packets/s that is more than 3 s, longer than any useful
// retransmission.
const seqIndexSize = 1024

// packetRing holds a stream's packets from the last keyframe on (the GOP
// new viewers start from, packetized) and at least minKeep recent packets
// (the NACK history), in one growable circular buffer. One writer (the
// broadcaster) appends under the write lock; viewers read under the read
// lock, copying packet pointers only.
//
// It is not a second GOP owner: media.Stream owns the GOP and says where it
// starts (Frame.Keyframe); the ring only keeps the packets that GOP was cut
// into, so that every viewer that catches up shares one packetization (the
// CPU cost of packetizing a GOP per joining viewer, and its sequence
// numbers, are what the ring saves) and NACKs can be answered from the same
// packets. Its keyframe mark is media's: the broadcaster copies keyHead from
// the frame's Keyframe. (A WHIP publisher's RTP is forwarded packet by
// packet, before its access unit is whole and reaches media: there the first
// packet of the access unit media will mark as a keyframe is recognised
// from its payload, rtp_keyframe.go, since waiting for media's mark would
// hold every packet back a frame.) Retention follows the mark.
type packetRing struct {
	mu       sync.RWMutex
	buf      []*packet // len is a power of two
	head     uint64    // position of the next packet
	tail     uint64    // oldest retained position
	keyPos   uint64    // position of the last keyframe's first packet
	hasKey   bool      // keyPos is valid (retained)
	bytes    int       // payload bytes retained
	maxBytes int
	minKeep  int
	// tailA mirrors tail for lock-free staleness checks by readers that
	// hold a batch of pointers while their transport blocks.
	tailA atomic.Uint64

	// idx maps seq%seqIndexSize to pos+1 per track, for NACKs.
	idx [2][seqIndexSize]uint64
}

func newPacketRing(minKeep, maxBytes int) *packetRing {
	n := 1
	for n < 2*minKeep {
		n <<= 1
	}
	return &packetRing{buf: make([]*packet, n), minKeep: minKeep, maxBytes: maxBytes}
}

// append adds one frame's packets and trims what is neither in the current
// GOP nor in the NACK history.
func (r *packetRing) append(pkts []*packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pkts {
		if r.head-r.tail == uint64(len(r.buf)) {
			r.grow()
		}
		p.pos = r.head
		if p.keyHead {
			r.keyPos, r.hasKey = r.head, true
		}
		r.buf[r.head&uint64(len(r.buf)-1)] = p
		r.idx[trackIndex(p.audio)][p.seq%seqIndexSize] = r.head + 1
		r.head++
		r.bytes += len(p.payload)
	}
	for r.head-r.tail > uint64(r.minKeep) && (!r.hasKey || r.tail < r.keyPos || r.bytes > r.maxBytes) {
		r.dropTail()
	}
}

func (r *packetRing) dropTail() {
	i := r.tail & uint64(len(r.buf)-1)
	r.bytes -= len(r.buf[i].payload)
	r.buf[i] = nil
	r.tail++
	r.tailA.Store(r.tail)
	if r.hasKey && r.tail > r.keyPos {
		// The GOP outgrew maxBytes: new viewers wait for the next keyframe.
		r.hasKey = false
	}
}

func (r *packetRing) grow() {
	next := make([]*packet, 2*len(r.buf))
	for pos := r.tail; pos < r.head; pos++ {
		next[pos&uint64(len(next)-1)] = r.buf[pos&uint64(len(r.buf)-1)]
	}
	r.buf = next
}

// start returns where a new viewer begins: the last keyframe, or (when none
// is cached) the head, with waitKey telling it to skip to the next keyframe.
func (r *packetRing) start() (pos uint64, waitKey bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.hasKey {
		return r.keyPos, false
	}
	return r.head, true
}

// read copies packets from pos on into dst. overrun reports that pos was
// already dropped (the viewer fell more than the ring behind); then restart
// is where it should continue.
func (r *packetRing) read(pos uint64, dst []*packet) (n int, overrun bool, restart uint64, waitKey bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if pos < r.tail {
		if r.hasKey {
			return 0, true, r.keyPos, false
		}
		return 0, true, r.head, true
	}
	mask := uint64(len(r.buf) - 1)
	for n < len(dst) && pos < r.head {
		dst[n] = r.buf[pos&mask]
		n++
		pos++
	}
	return n, false, 0, false
}

// lookup returns the retained packet of a track with stream sequence seq.
func (r *packetRing) lookup(audio bool, seq uint16) *packet {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e := r.idx[trackIndex(audio)][seq%seqIndexSize]
	if e == 0 {
		return nil
	}
	pos := e - 1
	if pos < r.tail || pos >= r.head {
		return nil
	}
	p := r.buf[pos&uint64(len(r.buf)-1)]
	if p.seq != seq || p.audio != audio {
		return nil
	}
	return p
}

// headPos returns the position the next packet will get.
func (r *packetRing) headPos() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.head
}

// dropped reports whether pos has left the ring (the reader fell behind).
func (r *packetRing) dropped(pos uint64) bool { return pos < r.tailA.Load() }

// stats returns the retained packet count and bytes.
func (r *packetRing) stats() (packets int, bytes int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return int(r.head - r.tail), r.bytes
}

func trackIndex(audio bool) int {
	if audio {
		return 1
	}
	return 0
}

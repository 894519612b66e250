package chat

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// room is one gig's chat on this node. Its member list is a copy-on-write
// snapshot so fan-out takes no lock; it is changed only under Hub.mu.
type room struct {
	gig     string
	members atomic.Pointer[[]*client]
	// ready is closed once the broker subscription is active and the stored
	// moderation state is loaded, so a joiner misses nothing between
	// history and live messages.
	ready     chan struct{}
	readyOnce sync.Once

	mu          sync.Mutex
	mutes       map[string]time.Time
	bannedUsers map[string]bool
	bannedIPs   map[string]bool
	slow        time.Duration

	// lastPresence is touched only by the presence loop.
	lastPresence int

	// Fan-out coalescing (see broadcast): the fields under omu, fmu held
	// by the one flush that runs.
	fmu       sync.Mutex
	omu       sync.Mutex
	coalesce  time.Duration
	pending   []frame
	lastFlush time.Time
	armed     bool
}

func newRoom(gig string, coalesce time.Duration) *room {
	r := &room{
		gig:         gig,
		coalesce:    coalesce,
		ready:       make(chan struct{}),
		mutes:       make(map[string]time.Time),
		bannedUsers: make(map[string]bool),
		bannedIPs:   make(map[string]bool),
	}
	r.members.Store(&[]*client{})
	return r
}

func (r *room) markReady() { r.readyOnce.Do(func() { close(r.ready) }) }

// add and remove must be called with Hub.mu held.
func (r *room) add(c *client) int {
	old := *r.members.Load()
	next := make([]*client, len(old), len(old)+1)
	copy(next, old)
	next = append(next, c)
	r.members.Store(&next)
	return len(next)
}

func (r *room) remove(c *client) int {
	old := *r.members.Load()
	next := make([]*client, 0, len(old))
	for _, m := range old {
		if m != c {
			next = append(next, m)
		}
	}
	r.members.Store(&next)
	return len(next)
}

// broadcast hands f to every member without blocking; a member whose queue
// is full is evicted by deliver.
//
// The fan-out runs on a flusher goroutine, never on the caller (a sender's
// reader, the broker's receiver), and frames are coalesced: the first frame
// after a quiet spell of one coalescing window goes out at once, frames
// that come within the window wait for its end and leave together, as one
// write per member. At a busy room's rates (100 messages/s to 1,000
// members) that cuts the writes, syscalls and wake-ups on both ends for at
// most one window (20 ms by default) of added latency; a quiet room pays
// nothing. Frames that come while a fan-out runs wait for it and leave
// together after it, window or not, so a room that outgrows the CPU
// batches more instead of falling behind. Order is kept: one flush at a
// time takes everything pending.
func (r *room) broadcast(f frame) {
	r.omu.Lock()
	defer r.omu.Unlock()
	r.pending = append(r.pending, f)
	if r.armed {
		return
	}
	r.armed = true
	wait := time.Duration(0)
	if r.coalesce > 0 {
		wait = max(0, r.lastFlush.Add(r.coalesce).Sub(time.Now()))
	}
	time.AfterFunc(wait, r.flush)
}

// flush sends what is pending. fmu makes flushes take turns, and a flush
// takes the pending frames only once it has its turn, so at most one flush
// waits and frames keep their order.
func (r *room) flush() {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	r.omu.Lock()
	frames := r.pending
	r.pending = nil
	r.armed = false
	r.lastFlush = time.Now()
	r.omu.Unlock()
	if len(frames) > 0 {
		r.fanOut(&batch{frames: frames})
	}
}

// fanOut delivers b to every member. Deliveries are mostly direct writes to
// the sockets, so a big room is split over the CPUs; fanOut returns when
// every member has it, so the next batch cannot overtake it.
func (r *room) fanOut(b *batch) {
	members := *r.members.Load()
	parts := min(runtime.GOMAXPROCS(0), len(members)/fanOutChunk)
	if parts <= 1 {
		for _, c := range members {
			c.deliver(b)
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(members) + parts - 1) / parts
	for part := range slices.Chunk(members, per) {
		wg.Go(func() {
			for _, c := range part {
				c.deliver(b)
			}
		})
	}
	wg.Wait()
}

// fanOutChunk is the least number of members worth a goroutine of their own.
const fanOutChunk = 64

// apply updates the moderation state; it must not be called with other locks held.
func (r *room) apply(x Restriction, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch x.Kind {
	case RestrictMute:
		if x.removes(now) {
			delete(r.mutes, x.Target)
		} else {
			r.mutes[x.Target] = x.Until
		}
	case RestrictBan:
		r.bannedUsers[x.Target] = true
	case RestrictBanIP:
		r.bannedIPs[x.Target] = true
	case RestrictSlow:
		r.slow = time.Duration(x.Seconds) * time.Second
	}
}

func (r *room) mutedFor(user string, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.mutes[user]
	if !ok {
		return 0
	}
	if !until.After(now) {
		delete(r.mutes, user)
		return 0
	}
	return until.Sub(now)
}

// banned reports whether user, or the address ipKey, is banned; an empty
// ipKey (a ticket holder, moderated by ticket alone) checks the user only.
func (r *room) banned(user, ipKey string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bannedUsers[user] || ipKey != "" && r.bannedIPs[ipKey]
}

func (r *room) slowMode() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.slow
}

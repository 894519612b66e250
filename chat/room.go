package chat

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/cow"
)

// room is one gig's chat on this node. Its member list is a copy-on-write
// snapshot so fan-out takes no lock; it is changed only under Hub.mu.
type room struct {
	gig     string
	members cow.List[*client]
	// ready is closed once the broker subscription is active and the stored
	// moderation state is loaded, so a joiner misses nothing between
	// history and live messages.
	ready     chan struct{}
	readyOnce sync.Once

	mu          sync.Mutex
	mutes       map[string]time.Time
	bannedUsers map[string]bool
	bannedAddrs map[string]addrBan
	slow        time.Duration
	// lastSent is each user's last message time while slow mode is on, so
	// reconnecting does not skip the wait.
	lastSent   map[string]time.Time
	slowPruned time.Time

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
		bannedAddrs: make(map[string]addrBan),
		lastSent:    make(map[string]time.Time),
	}
	return r
}

func (r *room) markReady() { r.readyOnce.Do(func() { close(r.ready) }) }

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
	members := r.members.Load()
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

// addrBan is an address ban: identities created from the address since
// its start are refused until its end (see Config.AddressBan).
type addrBan struct {
	since, until time.Time
	user         string // whose ban it came with; lifted with it
}

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
		if !x.removes(now) {
			r.bannedUsers[x.Target] = true
			break
		}
		delete(r.bannedUsers, x.Target)
		for k, b := range r.bannedAddrs {
			if b.user == x.Target {
				delete(r.bannedAddrs, k)
			}
		}
	case RestrictBanIP:
		if x.removes(now) {
			delete(r.bannedAddrs, x.Target)
		} else {
			r.bannedAddrs[x.Target] = addrBan{since: x.Since, until: x.Until, user: x.User}
		}
	case RestrictSlow:
		r.slow = time.Duration(x.Seconds) * time.Second
		if r.slow == 0 {
			clear(r.lastSent)
		}
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

// banned reports whether user is banned.
func (r *room) banned(user string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bannedUsers[user]
}

// addrBanned reports whether the address ipKey refuses an identity created
// at since (zero: one created now, for this join).
func (r *room) addrBanned(ipKey string, since, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bannedAddrs[ipKey]
	if !ok {
		return false
	}
	if !b.until.IsZero() && !b.until.After(now) {
		delete(r.bannedAddrs, ipKey)
		return false
	}
	return since.IsZero() || !since.Before(b.since)
}

// addrBansOf lists the address keys banned with user's ban.
func (r *room) addrBansOf(user string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, b := range r.bannedAddrs {
		if b.user == user {
			out = append(out, k)
		}
	}
	return out
}

// bannedList returns the banned user ids, sorted.
func (r *room) bannedList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.bannedUsers))
	for u := range r.bannedUsers {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// slowWait returns how long user must still wait under slow mode.
func (r *room) slowWait(user string, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.lastSent[user]; ok && r.slow > 0 {
		return max(0, last.Add(r.slow).Sub(now))
	}
	return 0
}

// sent records a message of user at now while slow mode is on.
func (r *room) sent(user string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slow <= 0 {
		return
	}
	if len(r.lastSent) >= maxSlowUsers && now.Sub(r.slowPruned) >= r.slow {
		r.slowPruned = now
		for u, t := range r.lastSent {
			if now.Sub(t) >= r.slow {
				delete(r.lastSent, u)
			}
		}
	}
	r.lastSent[user] = now
}

// maxSlowUsers is when slowWait prunes users whose wait is over.
const maxSlowUsers = 1024

func (r *room) slowMode() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.slow
}

package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// transport is what a client needs from its connection. Only the client's
// writer goroutine calls write, ping, pong and closeWith.
type transport interface {
	// write sends the batches' frames, in order, as one message each; a
	// transport may put them on the wire together.
	write(batches []*batch) error
	// ping sends a keepalive; transports with their own keepalive do nothing.
	ping() error
	// pong answers a client's ping.
	pong(data []byte) error
	// closeWith says goodbye (a WebSocket close frame) before close.
	closeWith(code int, reason string)
	close() error
}

// directWriter is a transport that can try a write without blocking, so the
// room's fan-out can put a batch on the wire itself when the client's queue
// is empty: no queue hop, goroutine wake-up or deadline per delivery.
type directWriter interface {
	// tryWrite writes what the socket takes now and returns the rest (nil
	// when all of b went out).
	tryWrite(b *batch) (rest *batch, err error)
}

// frame is one server frame; id is set for chat messages so a joiner can
// drop live messages it already got in its history.
type frame struct {
	id   string
	data []byte
}

// WebSocket close codes used by the hub.
const (
	closeNormal        = 1000
	closeGoingAway     = 1001
	closePolicy        = 1008
	closeTooBig        = 1009
	closeServiceReboot = 1012
	closeTryLater      = 1013
	// closeGrace bounds a graceful close: queued frames and the close frame
	// get this long, then the connection is closed regardless.
	closeGrace = 2 * time.Second
	// maxBatch caps the frames written with one syscall.
	maxBatch = 64
)

// client is one chat connection on this node, over any transport. A
// message goes one way: the reader hands it to the hub (handle, Hub.post),
// the hub to the room (broadcast), the room to each member (deliver).
//
// Its state is grouped by the one lock that guards each part, and each
// lock has one job:
//
//	w.mu     one writer on the transport at a time (writer)
//	hold.mu  live frames held back while a joiner fetches history (holdback)
//	in.mu    one incoming frame handled at a time (session)
//	gate.mu  the gate's pass held for the session (heldPass)
//	Hub.mu   room membership and counts (membership)
//
// The rest is fixed at creation, atomic, or the stop state that stopOnce
// sets before quit is closed.
type client struct {
	hub   *Hub
	gig   string
	ipKey string // keyed hash of the address: bans are stored without the address itself
	ip    string
	// countable: a WebSocket is a viewer of its own; a data channel belongs
	// to a media session that its stream counts already (MediaViewers).
	countable bool
	// id is the public user id: GuestUserID for a guest, TicketUserID for
	// a ticket holder, random for the creator and before the join (set at
	// join, before the client enters a room).
	id       atomic.Pointer[string]
	ticketed bool // moderated by ticket, not by address; set with id

	w    writer
	hold holdback
	in   session
	gate heldPass
	mem  membership

	quit     chan struct{}
	done     chan struct{} // closed when the writer has exited
	stopOnce sync.Once
	// set before quit is closed, read by the writer after it sees quit
	graceful    bool
	closeCode   int
	closeReason string
}

// writer is the way out to the connection: the queue the writer goroutine
// drains and the direct path the room's fan-out may take (see queue).
type writer struct {
	tr     transport
	direct directWriter // nil when tr cannot write without blocking
	pings  bool         // send keepalive pings
	mu     sync.Mutex   // held for every write to tr
	out    chan *batch
	queued atomic.Int32 // batches in out not yet written
	pongs  chan []byte
	batch  []*batch // the writer goroutine's reusable list
}

// holdback buffers live frames while a joiner is fetching history, so it
// gets no message twice and misses none.
type holdback struct {
	on     atomic.Bool // read without mu on every delivery
	mu     sync.Mutex
	frames []*batch
}

// session is the reader's state: handle holds mu for each incoming frame.
type session struct {
	mu      sync.Mutex
	name    string
	joined  bool
	creator bool
	limiter *rateLimiter
	// failedJoins counts refused credentials on this connection.
	failedJoins int
}

// heldPass is the gate's admission held for the session (nil without one);
// stop stops watching it for its end.
type heldPass struct {
	mu   sync.Mutex
	pass *access.Pass
	stop func() bool
}

// membership is the client's place in the hub; guarded by Hub.mu.
type membership struct {
	room    *room
	counted bool // counted as a viewer of the gig
	left    bool
}

func newClient(h *Hub, gig, ip string, tr transport, pings, countable bool) *client {
	// The user id is derived from a random session id that never leaves the server.
	sum := sha256.Sum256([]byte(randomHex(16)))
	c := &client{
		hub:       h,
		gig:       gig,
		ip:        ip,
		ipKey:     h.keys.addrKey(ip),
		countable: countable,
		w: writer{
			tr:     tr,
			direct: asDirect(tr),
			pings:  pings,
			out:    make(chan *batch, h.cfg.SendQueue),
			pongs:  make(chan []byte, 1),
		},
		in:   session{limiter: newRateLimiter(h.cfg.RateBurst, h.cfg.RateWindow, h.cfg.RateTimeout)},
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.setUserID("u_" + hex.EncodeToString(sum[:6]))
	return c
}

func (c *client) userID() string { return *c.id.Load() }

func (c *client) setUserID(id string) { c.id.Store(&id) }

// deliver queues a room batch, holding it back while the client is joining.
func (c *client) deliver(b *batch) {
	if c.hold.on.Load() {
		c.hold.mu.Lock()
		if c.hold.on.Load() {
			if len(c.hold.frames) >= cap(c.w.out) {
				c.hold.mu.Unlock()
				c.evict()
				return
			}
			c.hold.frames = append(c.hold.frames, b)
			c.hold.mu.Unlock()
			return
		}
		c.hold.mu.Unlock()
	}
	c.queue(b)
}

// send queues a frame for this client only.
func (c *client) send(data []byte) { c.queue(single(data)) }

// queue hands b to the client. With nothing queued and nobody writing it
// goes straight to the socket; what the socket does not take at once, and
// everything else, goes through the queue to the writer goroutine, in
// order. A full queue evicts the client.
func (c *client) queue(b *batch) {
	if c.w.direct != nil && c.w.queued.Load() == 0 && c.w.mu.TryLock() {
		if c.w.queued.Load() != 0 || c.stopped() {
			c.w.mu.Unlock()
		} else {
			rest, err := c.w.direct.tryWrite(b)
			if err != nil {
				c.w.mu.Unlock()
				c.stop(false, closeGoingAway, "")
				return
			}
			if rest != nil {
				// Still holding w.mu: the rest is queued before anything
				// that comes after it.
				c.push(rest)
			}
			c.w.mu.Unlock()
			return
		}
	}
	c.push(b)
}

// tryPush queues b if there is room, without evicting.
func (c *client) tryPush(b *batch) bool {
	c.w.queued.Add(1)
	select {
	case c.w.out <- b:
		return true
	default:
		c.w.queued.Add(-1)
		return false
	}
}

// push queues b; a full queue evicts the client.
func (c *client) push(b *batch) {
	if !c.tryPush(b) {
		c.evict()
	}
}

// release ends holding: frames that arrived while history was fetched are
// queued, except messages already in that history.
func (c *client) release(history []Message) {
	seen := make(map[string]bool, len(history))
	for _, m := range history {
		seen[m.ID] = true
	}
	c.hold.mu.Lock()
	defer c.hold.mu.Unlock()
	for _, b := range c.hold.frames {
		if b = b.without(seen); b != nil {
			c.queue(b)
		}
	}
	c.hold.frames = nil
	c.hold.on.Store(false)
}

func (c *client) evict() {
	select {
	case <-c.quit:
		return
	default:
	}
	c.hub.ctr.evicted.Add(1)
	c.hub.log.Info("chat client too slow, disconnecting", "gig", c.gig, "user", c.userID())
	c.stop(false, closeTryLater, "too slow")
}

func (c *client) sendError(code, msg string, retry time.Duration) {
	c.send(encodeError(code, msg, retry))
}

// fail tells the client why and closes the connection after the queue drains.
func (c *client) fail(code, msg string, closeCode int) {
	c.sendError(code, msg, 0)
	c.stop(true, closeCode, code)
}

// stop ends the client once: it leaves its room at once and the writer
// closes the connection (after draining the queue when graceful). The
// connection is also closed from here, at once or after a grace period,
// because a writer stuck in a write only returns when it is.
func (c *client) stop(graceful bool, code int, reason string) {
	c.stopOnce.Do(func() {
		c.graceful, c.closeCode, c.closeReason = graceful, code, reason
		close(c.quit)
		c.hub.leave(c)
		c.dropPass()
		if !graceful {
			_ = c.w.tr.close()
			return
		}
		t := time.AfterFunc(closeGrace, func() { _ = c.w.tr.close() })
		go func() { <-c.done; t.Stop() }()
	})
}

func (c *client) stopped() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// writeLoop is the only writer of the connection.
func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	defer close(c.done)
	var ping <-chan time.Time
	if c.w.pings {
		t := time.NewTicker(c.hub.cfg.PingInterval)
		defer t.Stop()
		ping = t.C
	}
	for {
		select {
		case <-c.quit:
			c.w.mu.Lock()
			if c.graceful && c.drain() == nil {
				c.w.tr.closeWith(c.closeCode, c.closeReason)
			}
			_ = c.w.tr.close()
			c.w.mu.Unlock()
			return
		case b := <-c.w.out:
			// Everything already queued goes out in one write: a client
			// that fell behind catches up with few syscalls.
			c.w.batch = append(c.w.batch[:0], b)
		more:
			for len(c.w.batch) < maxBatch {
				select {
				case d := <-c.w.out:
					c.w.batch = append(c.w.batch, d)
				default:
					break more
				}
			}
			c.w.mu.Lock()
			err := c.w.tr.write(c.w.batch)
			c.w.queued.Add(-int32(len(c.w.batch)))
			c.w.mu.Unlock()
			clear(c.w.batch)
			if err != nil {
				// A write that times out is a client that cannot keep
				// up, as much as one whose queue fills.
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					c.evict()
				}
				c.stop(false, closeGoingAway, "")
				_ = c.w.tr.close()
				return
			}
		case p := <-c.w.pongs:
			c.w.mu.Lock()
			err := c.drain()
			if err == nil {
				err = c.w.tr.pong(p)
			}
			c.w.mu.Unlock()
			if err != nil {
				c.stop(false, closeGoingAway, "")
				_ = c.w.tr.close()
				return
			}
		case <-ping:
			c.w.mu.Lock()
			err := c.drain()
			if err == nil {
				err = c.w.tr.ping()
			}
			c.w.mu.Unlock()
			if err != nil {
				c.stop(false, closeGoingAway, "")
				_ = c.w.tr.close()
				return
			}
		}
	}
}

// drain writes everything queued; w.mu must be held. A control frame
// (ping, pong, close) goes out only after it: a direct write that the
// socket took only in part left the rest of its frame in the queue, and
// nothing may come between.
func (c *client) drain() error {
	c.w.batch = c.w.batch[:0]
	for {
		select {
		case b := <-c.w.out:
			c.w.batch = append(c.w.batch, b)
		default:
			var err error
			if len(c.w.batch) > 0 {
				err = c.w.tr.write(c.w.batch)
				c.w.queued.Add(-int32(len(c.w.batch)))
				clear(c.w.batch)
			}
			return err
		}
	}
}

// handle processes one incoming frame; the transport calls it from one
// goroutine at a time.
func (c *client) handle(data []byte) {
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	if c.stopped() {
		return
	}
	m, err := decodeClientMessage(data, c.hub.cfg.MaxFrameBytes, c.hub.cfg.MaxTextRunes)
	if err != nil {
		var pe *protocolError
		if !errors.As(err, &pe) {
			pe = perr(codeBadRequest, "bad frame")
		}
		if pe.code == codeTooLarge {
			c.fail(pe.code, "frame larger than the limit", closeTooBig)
			return
		}
		c.sendError(pe.code, pe.msg, 0)
		return
	}
	switch m.Type {
	case typeJoin:
		c.join(m)
	case typeMessage:
		c.message(m.Text)
	default:
		c.moderate(m)
	}
}

func (c *client) join(m clientMessage) {
	h := c.hub
	if c.in.joined {
		c.sendError(codeAlreadyJoined, "already joined", 0)
		return
	}
	pass, creator, ok := c.admitJoin(m)
	if !ok {
		return
	}
	// The identity moderation follows: the ticket on a ticketed gig (with
	// its holder's name), else a guest id the page keeps; the creator
	// needs none.
	name, id := m.Name, ""
	var g guest
	var guestToken string
	var fresh bool
	now := time.Now()
	switch {
	case creator:
	case pass != nil && pass.TicketID != "":
		id = TicketUserID(pass.TicketID)
		if n := holderName(pass.Holder); n != "" {
			name = n
		}
	default:
		if g, ok = h.keys.verifyGuest(m.Guest, now, h.cfg.GuestTTL); ok {
			guestToken = m.Guest
		} else {
			fresh = true
		}
	}
	if name == "" {
		if pass != nil {
			pass.Release()
		}
		c.sendError(codeInvalidName, "name must be 1-32 characters", 0)
		return
	}
	if pass != nil && !c.holdPass(pass) {
		return
	}
	if id != "" {
		c.setUserID(id)
		c.ticketed = true
	} else if !creator && !fresh {
		c.setUserID(GuestUserID(g.id))
	}
	c.hold.on.Store(true)
	r := h.enterRoom(c, c.countable && !m.Watching)
	if r == nil {
		return
	}
	select {
	case <-r.ready:
	case <-time.After(h.cfg.BrokerTimeout):
	case <-c.quit:
		return
	}
	// The creator shares no fate with a banned viewer behind the same
	// address, a ticket holder none with anyone else's, and a guest only
	// if its identity was created after an address ban (see applyLocal).
	if !creator && (r.banned(c.userID()) || !c.ticketed && r.addrBanned(c.ipKey, g.issued, now)) {
		c.fail(codeBanned, "you are banned from this chat", closePolicy)
		return
	}
	if fresh {
		// Minted only now, so a banned address gets no new identity.
		g, guestToken = h.keys.mintGuest(now)
		c.setUserID(GuestUserID(g.id))
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
	hist, err := h.broker.History(ctx, c.gig, h.cfg.HistorySize)
	cancel()
	if err != nil {
		h.brokerHealth.report(h.log, err)
	}
	if hist == nil {
		hist = []Message{}
	}
	c.in.name, c.in.creator, c.in.joined = name, creator, true
	c.send(encode(joinedFrame{Type: "joined", User: c.userID(), Name: c.in.name, Creator: creator, Guest: guestToken}))
	c.send(encode(historyFrame{Type: "history", Messages: hist}))
	c.send(encode(presenceFrame{Type: "presence", Viewers: h.viewersCached(c.gig)}))
	if bans := r.bannedList(); creator && len(bans) > 0 {
		c.send(encode(bansFrame{Type: "bans", Users: bans}))
	}
	if slow := r.slowMode(); slow > 0 {
		c.send(encode(systemFrame{Type: "system", Text: slowModeText(slow)}))
	}
	c.release(hist)
}

func (c *client) message(text string) {
	if !c.in.joined {
		c.sendError(codeNotJoined, "join before sending messages", 0)
		return
	}
	c.hub.post(c, text, time.Now())
}

func (c *client) moderate(m clientMessage) {
	if !c.in.joined {
		c.sendError(codeNotJoined, "join before moderating", 0)
		return
	}
	if !c.in.creator {
		c.sendError(codeForbidden, "only the creator can moderate", 0)
		return
	}
	onFail := func(action, target string) notSaved {
		return func(error) {
			msg := "the " + action + " could not be saved (chat storage is unavailable): it holds on this server only, try again later"
			if target != "" {
				msg = "the " + action + " of " + target + " could not be saved (chat storage is unavailable): it holds on this server only, try again later"
			}
			c.sendError(codeModerationNotSaved, msg, 0)
		}
	}
	h := c.hub
	var err error
	switch m.Type {
	case typeDelete:
		err = h.deleteMessage(c.gig, m.ID, onFail("delete", ""))
	case typeMute:
		err = h.mute(c.gig, m.User, time.Duration(m.Seconds)*time.Second, onFail("mute", m.User))
	case typeBan:
		err = h.ban(c.gig, m.User, onFail("ban", m.User))
	case typeUnban:
		err = h.unban(c.gig, m.User, onFail("unban", m.User))
	case typeSlow:
		err = h.setSlowMode(c.gig, time.Duration(m.Seconds)*time.Second, onFail("slow mode", ""))
	}
	if err != nil {
		c.sendError(codeUnavailable, "moderation failed", 0)
	}
}

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

// client is one chat connection on this node, over any transport.
type client struct {
	hub   *Hub
	gig   string
	ipKey string // keyed hash of the address: bans are stored without the address itself
	ip    string
	// id is the public user id: GuestUserID for a guest, TicketUserID for
	// a ticket holder, random for the creator and before the join (set at
	// join, before the client enters a room).
	id       atomic.Pointer[string]
	ticketed bool // moderated by ticket, not by address; set with id
	tr       transport
	pings    bool
	// countable: a WebSocket is a viewer of its own; a data channel belongs
	// to a media session that TrackViewer counts already.
	countable bool

	out      chan *batch
	queued   atomic.Int32 // batches in out not yet written
	wmu      sync.Mutex   // held for every write to tr
	direct   directWriter // nil when tr cannot write without blocking
	pongs    chan []byte
	batch    []*batch // writer's reusable list
	quit     chan struct{}
	done     chan struct{} // closed when the writer has exited
	stopOnce sync.Once
	// set before quit is closed, read by the writer after it sees quit
	graceful    bool
	closeCode   int
	closeReason string

	// holding buffers live frames while a joiner is fetching history.
	holding atomic.Bool
	hmu     sync.Mutex
	held    []*batch

	// guarded by Hub.mu
	room    *room
	counted bool
	left    bool

	// pass is the gate's admission held for the session (nil without one);
	// passStop stops watching it for its end.
	pmu      sync.Mutex
	pass     *access.Pass
	passStop func() bool

	// used only by the reader (under inMu)
	inMu    sync.Mutex
	name    string
	joined  bool
	creator bool
	limiter *rateLimiter
	// failedJoins counts refused credentials on this connection.
	failedJoins int
}

func newClient(h *Hub, gig, ip string, tr transport, pings, countable bool) *client {
	// The user id is derived from a random session id that never leaves the server.
	sum := sha256.Sum256([]byte(randomHex(16)))
	c := &client{
		hub:       h,
		gig:       gig,
		ip:        ip,
		ipKey:     h.keys.addrKey(ip),
		tr:        tr,
		pings:     pings,
		countable: countable,
		out:       make(chan *batch, h.cfg.SendQueue),
		direct:    asDirect(tr),
		pongs:     make(chan []byte, 1),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		limiter:   newRateLimiter(h.cfg.RateBurst, h.cfg.RateWindow, h.cfg.RateTimeout),
	}
	c.setUserID("u_" + hex.EncodeToString(sum[:6]))
	return c
}

func (c *client) userID() string { return *c.id.Load() }

func (c *client) setUserID(id string) { c.id.Store(&id) }

// deliver queues a room batch, holding it back while the client is joining.
func (c *client) deliver(b *batch) {
	if c.holding.Load() {
		c.hmu.Lock()
		if c.holding.Load() {
			if len(c.held) >= cap(c.out) {
				c.hmu.Unlock()
				c.evict()
				return
			}
			c.held = append(c.held, b)
			c.hmu.Unlock()
			return
		}
		c.hmu.Unlock()
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
	if c.direct != nil && c.queued.Load() == 0 && c.wmu.TryLock() {
		if c.queued.Load() != 0 || c.stopped() {
			c.wmu.Unlock()
		} else {
			rest, err := c.direct.tryWrite(b)
			if err != nil {
				c.wmu.Unlock()
				c.stop(false, closeGoingAway, "")
				return
			}
			if rest != nil {
				// Still holding wmu: the rest is queued before anything
				// that comes after it.
				c.push(rest)
			}
			c.wmu.Unlock()
			return
		}
	}
	c.push(b)
}

// tryPush queues b if there is room, without evicting.
func (c *client) tryPush(b *batch) bool {
	c.queued.Add(1)
	select {
	case c.out <- b:
		return true
	default:
		c.queued.Add(-1)
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
	c.hmu.Lock()
	defer c.hmu.Unlock()
	for _, b := range c.held {
		if b = b.without(seen); b != nil {
			c.queue(b)
		}
	}
	c.held = nil
	c.holding.Store(false)
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
			_ = c.tr.close()
			return
		}
		t := time.AfterFunc(closeGrace, func() { _ = c.tr.close() })
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
	if c.pings {
		t := time.NewTicker(c.hub.cfg.PingInterval)
		defer t.Stop()
		ping = t.C
	}
	for {
		select {
		case <-c.quit:
			c.wmu.Lock()
			if c.graceful && c.drain() == nil {
				c.tr.closeWith(c.closeCode, c.closeReason)
			}
			_ = c.tr.close()
			c.wmu.Unlock()
			return
		case b := <-c.out:
			// Everything already queued goes out in one write: a client
			// that fell behind catches up with few syscalls.
			c.batch = append(c.batch[:0], b)
		more:
			for len(c.batch) < maxBatch {
				select {
				case d := <-c.out:
					c.batch = append(c.batch, d)
				default:
					break more
				}
			}
			c.wmu.Lock()
			err := c.tr.write(c.batch)
			c.queued.Add(-int32(len(c.batch)))
			c.wmu.Unlock()
			clear(c.batch)
			if err != nil {
				// A write that times out is a client that cannot keep
				// up, as much as one whose queue fills.
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					c.evict()
				}
				c.stop(false, closeGoingAway, "")
				_ = c.tr.close()
				return
			}
		case p := <-c.pongs:
			c.wmu.Lock()
			err := c.drain()
			if err == nil {
				err = c.tr.pong(p)
			}
			c.wmu.Unlock()
			if err != nil {
				c.stop(false, closeGoingAway, "")
				_ = c.tr.close()
				return
			}
		case <-ping:
			c.wmu.Lock()
			err := c.drain()
			if err == nil {
				err = c.tr.ping()
			}
			c.wmu.Unlock()
			if err != nil {
				c.stop(false, closeGoingAway, "")
				_ = c.tr.close()
				return
			}
		}
	}
}

// drain writes everything queued; wmu must be held. A control frame
// (ping, pong, close) goes out only after it: a direct write that the
// socket took only in part left the rest of its frame in the queue, and
// nothing may come between.
func (c *client) drain() error {
	c.batch = c.batch[:0]
	for {
		select {
		case b := <-c.out:
			c.batch = append(c.batch, b)
		default:
			var err error
			if len(c.batch) > 0 {
				err = c.tr.write(c.batch)
				c.queued.Add(-int32(len(c.batch)))
				clear(c.batch)
			}
			return err
		}
	}
}

// handle processes one incoming frame; the transport calls it from one
// goroutine at a time.
func (c *client) handle(data []byte) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
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
	if c.joined {
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
	c.holding.Store(true)
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
	c.name, c.creator, c.joined = name, creator, true
	c.send(encode(joinedFrame{Type: "joined", User: c.userID(), Name: c.name, Creator: creator, Guest: guestToken}))
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
	if !c.joined {
		c.sendError(codeNotJoined, "join before sending messages", 0)
		return
	}
	now := time.Now()
	user := c.userID()
	if d := c.room.mutedFor(user, now); d > 0 {
		c.sendError(codeMuted, "you are muted", d)
		return
	}
	// Slow mode is kept per user in the room, so reconnecting skips no wait.
	if !c.creator {
		if wait := c.room.slowWait(user, now); wait > 0 {
			c.sendError(codeSlowMode, slowModeText(c.room.slowMode()), wait)
			return
		}
	}
	if ok, wait := c.limiter.allow(now); !ok {
		c.hub.ctr.rateLimited.Add(1)
		c.sendError(codeRateLimited, "too many messages, wait a moment", wait)
		return
	}
	if !c.creator {
		c.room.sent(user, now)
	}
	c.hub.post(c.room, Message{
		Type:    typeMessage,
		ID:      randomHex(8),
		User:    user,
		Name:    c.name,
		Text:    text,
		TS:      now.UnixMilli(),
		Creator: c.creator,
	})
}

func (c *client) moderate(m clientMessage) {
	if !c.joined {
		c.sendError(codeNotJoined, "join before moderating", 0)
		return
	}
	if !c.creator {
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

package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/internal/httperr"
)

// Hub is the chat of one node: rooms per gig, their connections, the relay
// to other nodes and presence.
type Hub struct {
	cfg    Config
	broker Broker
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	upgrader websocket.Upgrader
	relay    *relay
	keys     serverKeys
	fails    *authFails
	// brokerHealth logs broker outages seen by joins and presence once.
	brokerHealth health
	subKick      chan struct{}

	mu       sync.Mutex
	closed   bool
	rooms    map[string]*room
	clients  map[*client]struct{}
	perIP    map[string]int
	presence map[string]*gigPresence
	// resync: gigs whose moderation state is reloaded from the broker
	// (their subscription came back after an outage).
	resync map[string]bool

	ctr counters
}

// New starts a Hub. A nil broker means a private MemoryBroker (single node).
func New(cfg Config, broker Broker, log *slog.Logger) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if broker == nil {
		broker = NewMemoryBroker()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "chat", "node", cfg.NodeID)
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg:          cfg,
		broker:       broker,
		log:          log,
		ctx:          ctx,
		cancel:       cancel,
		brokerHealth: health{down: "chat broker unreachable, chat continues on this node only", up: "chat broker reachable again"},
		subKick:      make(chan struct{}, 1),
		rooms:        make(map[string]*room),
		clients:      make(map[*client]struct{}),
		perIP:        make(map[string]int),
		presence:     make(map[string]*gigPresence),
		resync:       make(map[string]bool),
		keys:         deriveKeys(cfg.GuestKey),
		fails:        newAuthFails(cfg.AuthFailLimit, cfg.AuthFailWindow),
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		// Idle connections hold no write buffer: with thousands of viewers
		// per node that is most of a connection's memory.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     cfg.CheckOrigin,
		Error:           refuseUpgrade,
	}
	if h.upgrader.CheckOrigin == nil {
		h.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	}
	h.relay = newRelay(cfg.RelayQueue, cfg.BrokerTimeout, cfg.RelayRetry, log)
	h.wg.Add(3)
	go func() { defer h.wg.Done(); h.relay.run(ctx) }()
	go func() { defer h.wg.Done(); h.subscriptions() }()
	go func() { defer h.wg.Done(); h.presenceLoop() }()
	return h, nil
}

// NodeID returns this node's id in the broker.
func (h *Hub) NodeID() string { return h.cfg.NodeID }

// Close tells every client {"type":"restarting"}, closes the connections,
// removes this node's presence and waits for every goroutine. Idempotent.
func (h *Hub) Close() error {
	h.once.Do(func() {
		h.mu.Lock()
		h.closed = true
		clients := make([]*client, 0, len(h.clients))
		for c := range h.clients {
			clients = append(clients, c)
		}
		h.mu.Unlock()
		for _, c := range clients {
			c.tryPush(single(restartingFrame))
			c.stop(true, closeServiceReboot, "server restarting")
		}
		for _, c := range clients {
			<-c.done
		}
		h.cancel()
		h.wg.Wait()
		// After the presence loop has stopped, so nothing re-adds them.
		h.clearPresence()
	})
	return nil
}

// Counters returns a snapshot of the hub's counters.
func (h *Hub) Counters() Counters {
	c := Counters{
		Local:        h.ctr.local.Load(),
		Remote:       h.ctr.remote.Load(),
		Evicted:      h.ctr.evicted.Load(),
		RateLimited:  h.ctr.rateLimited.Load(),
		PerIPRefused: h.ctr.perIP.Load(),

		TicketRefused: h.ctr.ticketRefused.Load(),
		GateFailed:    h.ctr.gateFailed.Load(),

		AuthFailed:         h.ctr.authFailed.Load(),
		AuthLimited:        h.ctr.authLimited.Load(),
		ModerationNotSaved: h.ctr.modNotSaved.Load(),
	}
	h.mu.Lock()
	for _, p := range h.presence {
		c.Viewers += p.chat
	}
	h.mu.Unlock()
	return c
}

// ServeWS upgrades a request to a chat WebSocket for the gig named by the
// route parameter "id" (r.PathValue("id")), and serves it until it closes.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request) {
	gig := r.PathValue("id")
	if gig == "" {
		httperr.Write(w, http.StatusBadRequest, codeBadRequest, "missing gig id")
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		httperr.Write(w, http.StatusServiceUnavailable, codeUnavailable, "chat is restarting, try again shortly")
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the request
	}
	t := newWSTransport(ws, h.cfg.WriteTimeout)
	c := newClient(h, gig, h.clientIP(r), t, true, true)
	if err := h.admit(c); err != nil {
		// Browsers cannot read a refused handshake, so refuse after it.
		if errors.Is(err, ErrTooManyConns) {
			_ = t.write([]*batch{single(encodeError(codeTooManyConns, "too many chat connections from your address", 0))})
			t.closeWith(closeTryLater, codeTooManyConns)
		} else { // closing down
			_ = t.write([]*batch{single(restartingFrame)})
			t.closeWith(closeServiceReboot, "server restarting")
		}
		_ = t.close()
		return
	}
	go c.writeLoop()
	readWS(c, ws)
	c.stop(false, closeGoingAway, "")
	<-c.done
}

// Attach connects conn to the gig's chat. The client still has to join.
// Chat over a data channel does not count as a viewer: the media session
// that owns the channel is counted by its stream (see MediaViewers). On error (per-IP cap,
// hub closed) the client has been told and conn closed.
func (h *Hub) Attach(gigID, ip string, conn Conn) (*Peer, error) {
	if gigID == "" {
		return nil, ErrNoGig
	}
	t := &connTransport{conn: conn}
	c := newClient(h, gigID, ip, t, false, false)
	if err := h.admit(c); err != nil {
		if errors.Is(err, ErrTooManyConns) {
			_ = conn.Send(encodeError(codeTooManyConns, "too many chat connections from your address", 0))
		} else {
			_ = conn.Send(restartingFrame)
		}
		_ = conn.Close()
		return nil, fmt.Errorf("attach gig %s: %w", gigID, err)
	}
	go c.writeLoop()
	return &Peer{c: c}, nil
}

// admit registers a new connection, enforcing the per-IP cap. It adds one
// to h.wg for the client's writer.
func (h *Hub) admit(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.perIP[c.ip] >= h.cfg.MaxConnsPerIP {
		h.ctr.perIP.Add(1)
		return ErrTooManyConns
	}
	h.perIP[c.ip]++
	h.clients[c] = struct{}{}
	h.wg.Add(1)
	return nil
}

// enterRoom adds a joining client to its gig's room, creating the room (and
// asking for a broker subscription) for the first local member.
func (h *Hub) enterRoom(c *client, countViewer bool) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || c.mem.left {
		return nil
	}
	r := h.rooms[c.gig]
	if r == nil {
		r = newRoom(c.gig, h.cfg.Coalesce)
		h.rooms[c.gig] = r
		h.kickSubscriptions()
	}
	r.members.Add(c)
	c.mem.room = r
	if countViewer {
		c.mem.counted = true
		h.addChatViewerLocked(c.gig, 1)
	}
	return r
}

// leave drops a stopped client from its room and the per-IP count.
func (h *Hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.mem.left {
		return
	}
	c.mem.left = true
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		if h.perIP[c.ip]--; h.perIP[c.ip] <= 0 {
			delete(h.perIP, c.ip)
		}
	}
	if c.mem.counted {
		h.addChatViewerLocked(c.gig, -1)
	}
	if r := c.mem.room; r != nil && r.members.Remove(c) == 0 && h.rooms[c.gig] == r {
		delete(h.rooms, c.gig)
		h.kickSubscriptions()
	}
}

func (h *Hub) roomOf(gig string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[gig]
}

func (h *Hub) kickSubscriptions() {
	select {
	case h.subKick <- struct{}{}:
	default:
	}
}

// subscriptions keeps one broker subscription per gig that has a local room.
// It runs apart from joins so a slow or absent broker never blocks them.
func (h *Hub) subscriptions() {
	subs := make(map[string]func())
	defer func() {
		for _, unsub := range subs {
			unsub()
		}
	}()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.subKick:
		}
		h.mu.Lock()
		want := make(map[string]*room, len(h.rooms))
		for gig, r := range h.rooms {
			want[gig] = r
		}
		var reload []*room
		for gig := range h.resync {
			if r := h.rooms[gig]; r != nil && isClosed(r.ready) {
				reload = append(reload, r)
			}
			delete(h.resync, gig)
		}
		h.mu.Unlock()
		for _, r := range reload {
			h.loadRestrictions(r)
		}
		for gig, unsub := range subs {
			if _, ok := want[gig]; !ok {
				unsub()
				delete(subs, gig)
			}
		}
		for gig, r := range want {
			if _, ok := subs[gig]; !ok {
				ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
				unsub, err := h.broker.Subscribe(ctx, gig, func(msg []byte) { h.onBroker(gig, msg) })
				cancel()
				subs[gig] = unsub
				if err != nil {
					h.brokerHealth.report(h.log, err)
				}
			}
			if !isClosed(r.ready) {
				h.loadRestrictions(r)
				r.markReady()
			}
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// onBroker handles an event relayed by another node.
func (h *Hub) onBroker(gig string, msg []byte) {
	if len(msg) == 0 {
		// The subscription is back after an outage: moderation published
		// meanwhile was missed, reload it from the store.
		h.mu.Lock()
		h.resync[gig] = true
		h.kickSubscriptions()
		h.mu.Unlock()
		return
	}
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		h.log.Debug("chat dropped malformed relay event", "gig", gig, "err", err)
		return
	}
	if env.Node == h.cfg.NodeID {
		return // delivered locally when it was sent
	}
	r := h.roomOf(gig)
	if r == nil {
		return
	}
	if env.Mod != nil {
		h.applyLocal(r, *env.Mod)
	}
	if len(env.Frame) > 0 {
		if env.ID != "" { // a message; moderation frames carry no id
			h.ctr.remote.Add(1)
		}
		r.broadcast(frame{id: env.ID, data: env.Frame})
	}
}

// post is a joined member's message. It is checked against the room's
// rules (mute, slow mode) and the sender's rate limit, in that order, then
// queued for history and the other nodes and delivered to the local room at
// once. The client's reader calls it with c.in locked; a refusal goes back
// to c alone.
func (h *Hub) post(c *client, text string, now time.Time) {
	r, user := c.mem.room, c.userID()
	if d := r.mutedFor(user, now); d > 0 {
		c.sendError(codeMuted, "you are muted", d)
		return
	}
	// Slow mode is kept per user in the room, so reconnecting skips no wait.
	if !c.in.creator {
		if wait := r.slowWait(user, now); wait > 0 {
			c.sendError(codeSlowMode, slowModeText(r.slowMode()), wait)
			return
		}
	}
	if ok, wait := c.in.limiter.allow(now); !ok {
		h.ctr.rateLimited.Add(1)
		c.sendError(codeRateLimited, "too many messages, wait a moment", wait)
		return
	}
	if !c.in.creator {
		r.sent(user, now)
	}
	m := Message{
		Type:    typeMessage,
		ID:      randomHex(8),
		User:    user,
		Name:    c.in.name,
		Text:    text,
		TS:      now.UnixMilli(),
		Creator: c.in.creator,
	}
	data := encode(m)
	env := encode(envelope{Node: h.cfg.NodeID, ID: m.ID, Frame: data})
	// Queued before anyone can see the message, so a delete of it is
	// always queued after its history append.
	h.relay.push(&relayJob{
		what: "message",
		steps: []func(ctx context.Context) error{
			func(ctx context.Context) error { return h.broker.AppendHistory(ctx, r.gig, m, h.cfg.HistorySize) },
			func(ctx context.Context) error { return h.broker.Publish(ctx, r.gig, env) },
		},
	})
	h.ctr.local.Add(1)
	r.broadcast(frame{id: m.ID, data: data})
}

// clientIP is Config.ClientIP's answer, or the peer's host.
func (h *Hub) clientIP(r *http.Request) string {
	if h.cfg.ClientIP != nil {
		if ip := h.cfg.ClientIP(r); ip != "" {
			return ip
		}
	}
	return hostOnly(r.RemoteAddr)
}

func slowModeText(d time.Duration) string {
	return fmt.Sprintf("slow mode: one message every %d s", int(d/time.Second))
}

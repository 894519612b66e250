package ticket

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/secret"
)

// ManageTokenPrefix starts the gig store's manage tokens; only credentials
// with it are checked against the gig store.
const ManageTokenPrefix = "mt_"

// announceGrace: a media pass whose own screen event has not come back
// over the bus yet is newer than any event it sees, so those events do not
// end it; after this long the event is taken as lost and the pass becomes
// endable like any other.
const announceGrace = 2 * time.Second

// revokedMemory is how long a gate remembers a revocation it heard of, to
// refuse an admission whose store check raced with the revocation.
const revokedMemory = 10 * time.Minute

// GigLookup is what the gate needs to know about gigs; cmd adapts the gig
// store to it.
type GigLookup interface {
	// Ticketed reports whether the gig needs a ticket (access "ticket").
	Ticketed(ctx context.Context, gigID string) (bool, error)
	// CheckManageToken returns nil when token is the gig's manage token. An
	// error wrapping ErrUnavailable (or a context error) means the check
	// could not be made; any other error means it is not the manage token.
	CheckManageToken(ctx context.Context, gigID, token string) error
}

// GateConfig configures a Gate.
type GateConfig struct {
	Gigs    GigLookup
	Tickets Store
	Bus     Bus
	// NodeID names this node in events (logs only); random when empty.
	NodeID string
}

var _ access.Gate = (*Gate)(nil)

// Gate admits viewers and chatters on ticketed gigs, holds one screen per
// ticket across nodes, and ends a revoked ticket's sessions everywhere.
type Gate struct {
	gigs    GigLookup
	tickets Store
	bus     Bus
	node    string
	log     *slog.Logger
	now     func() time.Time

	unsubscribe func()
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	closeOnce   sync.Once

	// stripes serialize media admissions of one ticket on this node, so
	// this node publishes its screen events in admission order.
	stripes [64]sync.Mutex

	mu      sync.Mutex
	closed  bool
	passes  map[string]map[*access.Pass]*entry // gig/ticket -> live passes
	revoked map[string]time.Time               // gig/ticket -> when heard
}

// entry is what the gate knows about one live ticket pass.
type entry struct {
	media     bool
	admission string
	announced bool // its own screen event came back (or publishing failed)
	at        time.Time
}

// NewGate subscribes the gate to the bus.
func NewGate(cfg GateConfig, log *slog.Logger) (*Gate, error) {
	if cfg.Gigs == nil || cfg.Tickets == nil || cfg.Bus == nil {
		return nil, errors.New("ticket: GateConfig needs Gigs, Tickets and Bus")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeID == "" {
		cfg.NodeID = secret.NewID()
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gate{
		gigs: cfg.Gigs, tickets: cfg.Tickets, bus: cfg.Bus, node: cfg.NodeID,
		log: log.With("component", "gate", "node", cfg.NodeID), now: time.Now,
		ctx: ctx, cancel: cancel,
		passes:  make(map[string]map[*access.Pass]*entry),
		revoked: make(map[string]time.Time),
	}
	g.unsubscribe = cfg.Bus.Subscribe(g.onEvent)
	return g, nil
}

// Close stops listening to the bus and waits for background re-checks. It
// is idempotent; live passes stay as they are.
func (g *Gate) Close() {
	g.closeOnce.Do(func() {
		g.unsubscribe()
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		g.cancel()
		g.wg.Wait()
	})
}

// Admit implements access.Gate.
func (g *Gate) Admit(ctx context.Context, req access.Request) (*access.Pass, error) {
	if req.Kind != access.Media && req.Kind != access.Chat {
		return nil, fmt.Errorf("admit gig %s: unknown kind %d", req.GigID, req.Kind)
	}
	ticketed, err := g.gigs.Ticketed(ctx, req.GigID)
	if err != nil {
		return nil, fmt.Errorf("admit gig %s: %w", req.GigID, err)
	}
	if !ticketed {
		return access.Open(), nil
	}
	screen := req.Screen
	if screen == "" || len(screen) > access.MaxScreenLen { // longer ones are replaced
		screen = secret.NewID()
	}
	cred := strings.TrimSpace(req.Credential)
	switch {
	case cred == "":
		return nil, access.ErrTicketRequired
	case strings.HasPrefix(cred, ManageTokenPrefix):
		err := g.gigs.CheckManageToken(ctx, req.GigID, cred)
		switch {
		case err == nil:
			return access.NewPass("", "", true, screen, nil), nil
		case errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nil, fmt.Errorf("admit gig %s: check manage token: %w", req.GigID, err)
		}
		return nil, access.ErrInvalidTicket
	case !strings.HasPrefix(cred, TokenPrefix):
		return nil, access.ErrInvalidTicket
	}
	t, err := g.tickets.Authenticate(ctx, req.GigID, cred)
	switch {
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrPending):
		return nil, access.ErrInvalidTicket
	case err != nil:
		return nil, fmt.Errorf("admit gig %s: %w", req.GigID, err)
	case t.Status != StatusValid:
		return nil, access.ErrTicketRevoked
	}
	if req.Kind == access.Chat {
		return g.register(t, screen, false, "")
	}
	return g.admitMedia(ctx, t, screen)
}

// admitMedia registers a media pass, ends this node's other media passes
// of the ticket at once, and tells the other nodes to end theirs.
func (g *Gate) admitMedia(ctx context.Context, t Ticket, screen string) (*access.Pass, error) {
	key := passKey(t.GigID, t.ID)
	lk := g.stripe(key)
	lk.Lock()
	defer lk.Unlock()
	adm := secret.NewID()
	p, err := g.register(t, screen, true, adm)
	if err != nil {
		return nil, err
	}
	ev := Event{Type: EventScreen, GigID: t.GigID, TicketID: t.ID, Screen: screen, Admission: adm, Node: g.node}
	if err := g.bus.Publish(ctx, ev); err != nil {
		// The viewer holds a valid ticket; other nodes learn of this screen
		// with the next event that gets through.
		g.log.Warn("screen event not published", "gig", t.GigID, "ticket", t.ID, "err", err)
		g.mu.Lock()
		if e := g.passes[key][p]; e != nil {
			e.announced = true
		}
		g.mu.Unlock()
	}
	return p, nil
}

// register adds a pass for t; a media pass ends the ticket's other media
// passes on this node.
func (g *Gate) register(t Ticket, screen string, media bool, adm string) (*access.Pass, error) {
	key := passKey(t.GigID, t.ID)
	g.mu.Lock()
	defer g.mu.Unlock()
	// The store said valid, but a revocation may have been heard since.
	if _, ok := g.revoked[key]; ok {
		return nil, access.ErrTicketRevoked
	}
	var p *access.Pass
	p = access.NewPass(t.ID, t.Name, false, screen, func() { g.forget(key, p) })
	ps := g.passes[key]
	if ps == nil {
		ps = make(map[*access.Pass]*entry)
		g.passes[key] = ps
	}
	if media {
		for old, e := range ps {
			if e.media {
				old.End(access.ErrWatchingElsewhere)
				delete(ps, old)
			}
		}
	}
	ps[p] = &entry{media: media, admission: adm, at: g.now()}
	return p, nil
}

func (g *Gate) forget(key string, p *access.Pass) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ps := g.passes[key]; ps != nil {
		delete(ps, p)
		if len(ps) == 0 {
			delete(g.passes, key)
		}
	}
}

func (g *Gate) stripe(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &g.stripes[h.Sum32()%uint32(len(g.stripes))]
}

// Revoke ends the ticket in the store (to is StatusRevoked or
// StatusRefunded) and ends its media and chat sessions on every node. A
// ticket ended before is ErrConflict, but its sessions are ended again
// anyway, in case the earlier notice did not reach every node.
func (g *Gate) Revoke(ctx context.Context, gigID, ticketID string, to Status) (Ticket, error) {
	t, err := g.tickets.End(ctx, gigID, ticketID, to)
	if err != nil && !errors.Is(err, ErrConflict) {
		return t, err
	}
	ev := Event{Type: EventRevoked, GigID: gigID, TicketID: ticketID, Node: g.node}
	g.onEvent(ev) // at once here, whatever the bus does
	if perr := g.bus.Publish(ctx, ev); perr != nil {
		g.log.Warn("revocation not published", "gig", gigID, "ticket", ticketID, "err", perr)
		if err == nil {
			err = fmt.Errorf("revoke ticket %s: notify other nodes: %w", ticketID, perr)
		}
	}
	return t, err
}

// CurrentScreen is the screen of the ticket's latest media admission on
// any node ("" when none).
func (g *Gate) CurrentScreen(ctx context.Context, gigID, ticketID string) (string, error) {
	return g.bus.CurrentScreen(ctx, gigID, ticketID)
}

// onEvent applies an event from the bus (every node's, this one's too).
func (g *Gate) onEvent(ev Event) {
	if ev.Type == EventResync {
		g.resync()
		return
	}
	key := passKey(ev.GigID, ev.TicketID)
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch ev.Type {
	case EventScreen:
		for p, e := range g.passes[key] {
			switch {
			case !e.media:
			case e.admission == ev.Admission:
				e.announced = true
			case !e.announced && now.Sub(e.at) < announceGrace:
				// Its own event is still on the way, after this one: it
				// is the newer screen.
			default:
				p.End(access.ErrWatchingElsewhere)
				delete(g.passes[key], p)
			}
		}
	case EventRevoked:
		g.noteRevoked(key, now)
		for p := range g.passes[key] {
			p.End(access.ErrTicketRevoked)
		}
		delete(g.passes, key)
	}
}

// noteRevoked remembers a revocation for a while; g.mu is held.
func (g *Gate) noteRevoked(key string, now time.Time) {
	for k, at := range g.revoked {
		if now.Sub(at) > revokedMemory {
			delete(g.revoked, k)
		}
	}
	g.revoked[key] = now
}

// resync re-checks every live ticket pass against the store after the bus
// lost its connection, since revocations sent meanwhile were lost.
func (g *Gate) resync() {
	g.mu.Lock()
	if g.closed || len(g.passes) == 0 {
		g.mu.Unlock()
		return
	}
	keys := make([]string, 0, len(g.passes))
	for k := range g.passes {
		keys = append(keys, k)
	}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		for _, k := range keys {
			if g.ctx.Err() != nil {
				return
			}
			gig, id, _ := strings.Cut(k, "/")
			ctx, cancel := context.WithTimeout(g.ctx, 2*time.Second)
			t, err := g.tickets.Get(ctx, gig, id)
			cancel()
			if errors.Is(err, ErrNotFound) || (err == nil && t.Status != StatusValid) {
				g.onEvent(Event{Type: EventRevoked, GigID: gig, TicketID: id})
			}
		}
	}()
}

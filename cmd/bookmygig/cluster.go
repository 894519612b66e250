package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/cluster"
	"github.com/bookmygig/bookmygig/flv"
	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
)

// Cluster timings. Origins are renewed with the live leases (leaseEvery)
// and expire like them; load is published often enough for steering to
// follow a show that fills a node.
const (
	originEvery = leaseEvery
	loadEvery   = 2 * time.Second
	// relayReady bounds how long a viewer's request waits for a cold relay
	// to bring the first keyframe.
	relayReady = 4 * time.Second
	// relayLost is how long an edge looks for a new upstream after losing
	// its own (the publisher reconnecting to another node) before it gives
	// the gig up.
	relayLost = 20 * time.Second
)

// clusterNode makes this node one of many on one Redis: it claims the gigs
// published here as their origin, pulls gigs published elsewhere for its
// viewers (one relay per gig, through the relay tree), publishes its load
// and steers WHEP viewers away when full.
type clusterNode struct {
	dir        *cluster.Directory
	reg        *media.Registry
	sfu        *sfu.SFU
	whip       *whip.Server
	flv        *flv.Handler
	token      string
	secret     string
	maxViewers int
	// idle is how long an edge keeps pulling a gig nobody here watches
	// (--relay-idle): a viewer who reloads finds the relay warm.
	idle time.Duration
	log  *slog.Logger

	mu     sync.Mutex
	relays map[string]*relay
	closed bool

	// origins are the public URLs of the live nodes, for the pages' CSP
	// (a steered WHEP offer goes to another node).
	origins atomic.Pointer[[]string]

	cpu cpuMeter
	// egress is the byte count at the last load sample.
	egress   uint64
	egressAt time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// relay is this node's pull of one gig from another node.
type relay struct {
	gig string
	// ready is closed once the first pull's stream is here (or failed).
	ready chan struct{}
	err   error // why the first pull failed (under clusterNode.mu)
	// originChanged wakes the relay when the gig's origin moved.
	originChanged chan struct{}
	stream        *media.Stream // current local copy (under clusterNode.mu)
}

// clusterOptions are the cluster flags a node runs with.
type clusterOptions struct {
	secret     string
	maxViewers int
	idle       time.Duration
}

func newClusterNode(dir *cluster.Directory, reg *media.Registry, s *sfu.SFU, w *whip.Server, f *flv.Handler, o clusterOptions, log *slog.Logger) *clusterNode {
	ctx, cancel := context.WithCancel(context.Background())
	if o.idle <= 0 {
		o.idle = 10 * time.Second
	}
	c := &clusterNode{dir: dir, reg: reg, sfu: s, whip: w, flv: f, token: cluster.RelayToken(o.secret), secret: o.secret, maxViewers: o.maxViewers, idle: o.idle,
		log: log, relays: map[string]*relay{}, ctx: ctx, cancel: cancel}
	reg.SetFinder(c.find)
	reg.OnEvent(c.onStreamEvent)
	c.wg.Add(3)
	go c.keepOrigins()
	go c.keepLoad()
	go func() {
		defer c.wg.Done()
		dir.WatchOrigins(ctx, c.originMoved)
	}()
	return c
}

// onStreamEvent claims gigs published here (not relayed) as their origin.
// It runs on the publisher's goroutine: the Redis work goes elsewhere.
func (c *clusterNode) onStreamEvent(ev media.Event) {
	if ev.Stream.Source() == media.SourceRelay {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.ctx, 3*time.Second)
		defer cancel()
		var err error
		switch ev.Type {
		case media.Published:
			err = c.dir.ClaimOrigin(ctx, ev.GigID)
		case media.Unpublished:
			if st, ok := c.reg.Get(ev.GigID); ok && st.Source() != media.SourceRelay {
				return // a new publisher here took over
			}
			err = c.dir.ReleaseOrigin(ctx, ev.GigID)
		}
		if err != nil {
			// The next renewal claims it again.
			c.log.Warn("cluster origin update failed", "gig", ev.GigID, "err", err)
		}
	}()
}

// keepOrigins renews the origin claims of the gigs published here.
func (c *clusterNode) keepOrigins() {
	defer c.wg.Done()
	t := time.NewTicker(originEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		var ids []string
		for _, s := range c.reg.Streams() {
			if s.Source() != media.SourceRelay {
				ids = append(ids, s.GigID())
			}
		}
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, 3*time.Second)
		if err := c.dir.RenewOrigins(ctx, ids); err != nil {
			c.log.Warn("cluster origin renewal failed", "err", err)
		}
		cancel()
	}
}

// viewers counts this node's media viewers (every protocol, relays to
// other nodes not included).
func (c *clusterNode) viewers() int {
	n := 0
	for _, s := range c.reg.Streams() {
		n += s.Viewers()
	}
	return n
}

func (c *clusterNode) load() cluster.Load {
	now := time.Now()
	sent := c.sfu.Counters().BytesSent
	fc := c.flv.Counters()
	sent += fc.HTTPBytes + fc.WSBytes
	var bps int64
	if !c.egressAt.IsZero() {
		if dt := now.Sub(c.egressAt).Seconds(); dt > 0 {
			bps = int64(float64(sent-c.egress) * 8 / dt)
		}
	}
	c.egress, c.egressAt = sent, now
	return cluster.Load{Viewers: c.viewers(), CPU: c.cpu.sample(now), EgressBps: bps, Relays: c.sfu.RelaySessionsTotal()}
}

// keepLoad publishes this node's load for steering and GET /api/cluster.
func (c *clusterNode) keepLoad() {
	defer c.wg.Done()
	t := time.NewTicker(loadEvery)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		if err := c.dir.PublishLoad(ctx, c.load()); err != nil && c.ctx.Err() == nil {
			c.log.Warn("cluster load update failed", "err", err)
		}
		if nodes, err := c.dir.Nodes(ctx); err == nil {
			urls := make([]string, 0, len(nodes))
			for _, n := range nodes {
				urls = append(urls, n.PublicURL)
			}
			c.origins.Store(&urls)
		}
		cancel()
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nodeURLs are the public URLs of the cluster's live nodes.
func (c *clusterNode) nodeURLs() []string {
	if p := c.origins.Load(); p != nil {
		return *p
	}
	return nil
}

// originMoved wakes the gig's relay, if any, to check its upstream.
func (c *clusterNode) originMoved(gigID string) {
	c.mu.Lock()
	r := c.relays[gigID]
	c.mu.Unlock()
	if r != nil {
		select {
		case r.originChanged <- struct{}{}:
		default:
		}
	}
}

// find is the Registry's Finder: it brings a gig published on another node
// here, starting one relay per gig whatever the number of viewers asking.
func (c *clusterNode) find(ctx context.Context, gigID string) (*media.Stream, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, media.ErrNotLive
	}
	r := c.relays[gigID]
	if r == nil {
		r = &relay{gig: gigID, ready: make(chan struct{}), originChanged: make(chan struct{}, 1)}
		c.relays[gigID] = r
		c.wg.Add(1)
		go c.runRelay(r)
	}
	c.mu.Unlock()
	wait, cancel := context.WithTimeout(ctx, relayReady)
	defer cancel()
	select {
	case <-r.ready:
	case <-wait.Done():
		return nil, wait.Err()
	}
	c.mu.Lock()
	s, err := r.stream, r.err
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if s == nil || s.Closed() {
		// Between two upstreams: the viewer's retry finds the next one.
		return nil, media.ErrNotLive
	}
	return s, nil
}

// runRelay keeps one gig pulled from upstream while it has viewers here
// (or child relays), switching upstream when it fails or the origin moves.
func (c *clusterNode) runRelay(r *relay) {
	defer c.wg.Done()
	log := c.log.With("gig", r.gig)
	readyOnce := sync.OnceFunc(func() { close(r.ready) })
	defer func() {
		c.mu.Lock()
		if c.relays[r.gig] == r {
			delete(c.relays, r.gig)
		}
		if r.err == nil && r.stream == nil {
			r.err = media.ErrNotLive
		}
		c.mu.Unlock()
		readyOnce()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.dir.DropRelay(ctx, r.gig)
		cancel()
	}()
	var lostAt time.Time
	idleSince := time.Now()
	for c.ctx.Err() == nil {
		pull, up, err := c.connect(r.gig)
		if err != nil {
			if errors.Is(err, cluster.ErrSelfOrigin) || errors.Is(err, media.ErrAlreadyLive) {
				// The creator publishes here now.
				return
			}
			if lostAt.IsZero() {
				// Never connected: a viewer is waiting for an answer.
				if !errors.Is(err, cluster.ErrNoOrigin) {
					log.Warn("relay pull failed", "err", err)
				}
				return
			}
			if time.Since(lostAt) > relayLost {
				log.Info("gig gone from the cluster: relay ends")
				return
			}
			select {
			case <-c.ctx.Done():
				return
			case <-r.originChanged:
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		c.mu.Lock()
		r.stream = pull.Stream()
		c.mu.Unlock()
		readyOnce()
		log.Info("relaying gig", "upstream", up.Node, "depth", up.Depth)
		lostAt = time.Time{}
		idle := c.follow(r, pull, up, &idleSince)
		pull.Close()
		if idle || c.ctx.Err() != nil {
			return
		}
		lostAt = time.Now()
		idleSince = time.Now()
	}
}

// connect picks an upstream through the relay tree and pulls from it,
// waiting until the local copy has its video track.
func (c *clusterNode) connect(gigID string) (*whip.Pull, cluster.Upstream, error) {
	ctx, cancel := context.WithTimeout(c.ctx, relayReady)
	defer cancel()
	up, err := c.dir.ChooseUpstream(ctx, gigID)
	if err != nil {
		return nil, up, err
	}
	pull, err := c.whip.Pull(ctx, whip.PullConfig{GigID: gigID, URL: strings.TrimSuffix(up.RelayURL, "/") + "/whep/" + url.PathEscape(gigID), Token: c.token})
	if err != nil {
		_ = c.dir.DropRelay(context.Background(), gigID)
		return nil, up, err
	}
	for {
		if st, ok := c.reg.Get(gigID); ok && st == pull.Stream() && st.VideoTrack() != nil {
			return pull, up, nil
		}
		select {
		case <-pull.Done():
			return nil, up, errors.Join(errors.New("upstream ended before any video"), pull.Err())
		case <-ctx.Done():
			pull.Close()
			return nil, up, errors.New("no video from upstream " + up.Node + " in time")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// follow runs one pull until it ends, the origin moves away from its
// upstream, or nobody here has watched for c.idle (then it reports
// idle).
func (c *clusterNode) follow(r *relay, pull *whip.Pull, up cluster.Upstream, idleSince *time.Time) (idle bool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-c.ctx.Done():
			return false
		case <-pull.Done():
			return false
		case <-r.originChanged:
			if up.Depth != 1 {
				// A parent edge switches for us; our session on it lives on.
				continue
			}
			ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
			o, ok, err := c.dir.Origin(ctx, r.gig)
			cancel()
			if err == nil && (!ok || o.Node != up.Node) {
				return false
			}
		case now := <-t.C:
			if pull.Stream().Viewers() > 0 || c.sfu.RelaySessions(r.gig) > 0 {
				*idleSince = now
			} else if now.Sub(*idleSince) > c.idle {
				return true
			}
			if now.Sub(renewed) > originEvery {
				ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
				err := c.dir.RenewRelay(ctx, r.gig)
				cancel()
				renewed = now
				if errors.Is(err, cluster.ErrNoRelay) {
					// Our place in the tree lapsed and our parent is full
					// now: choose again (viewers here stay on their
					// sessions across the switch).
					return false
				}
			}
		}
	}
}

// steer answers a WHEP offer on a full node with 307 to the least-loaded
// node (the WHEP draft allows redirects); a request already steered, or
// with nowhere better to go, is served here.
func (c *clusterNode) steer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.maxViewers <= 0 || r.Method != http.MethodPost || r.URL.Query().Has("steered") ||
			c.relayAuth(r) || c.viewers() < c.maxViewers {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		n, ok, err := c.dir.LeastLoaded(ctx, c.maxViewers)
		cancel()
		if err != nil || !ok || n.PublicURL == "" {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		q.Set("steered", "1")
		w.Header().Set("Location", strings.TrimSuffix(n.PublicURL, "/")+r.URL.Path+"?"+q.Encode())
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
}

// relayAuth reports whether r carries this cluster's relay token.
func (c *clusterNode) relayAuth(r *http.Request) bool {
	return cluster.ValidRelayToken(c.secret, access.BearerToken(r))
}

// serveCluster is GET /api/cluster: the nodes with their load, and every
// live gig's origin and relay tree.
func (c *clusterNode) serveCluster(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	nodes, err := c.dir.Nodes(ctx)
	if err == nil {
		var gigs []cluster.GigTree
		if gigs, err = c.dir.Tree(ctx); err == nil {
			if nodes == nil {
				nodes = []cluster.NodeStatus{}
			}
			if gigs == nil {
				gigs = []cluster.GigTree{}
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_ = json.NewEncoder(w).Encode(map[string]any{"node": c.dir.NodeID(), "nodes": nodes, "gigs": gigs})
			return
		}
	}
	c.log.Warn("cluster state unavailable", "err", err)
	httperr.Write(w, http.StatusServiceUnavailable, "unavailable", "the cluster state is unavailable; try again shortly")
}

// close stops the relays and withdraws this node's origins.
func (c *clusterNode) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// cpuMeter turns the process's CPU time into a fraction of one core.
type cpuMeter struct {
	last time.Duration
	at   time.Time
}

func (m *cpuMeter) sample(now time.Time) float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	var frac float64
	if !m.at.IsZero() {
		if dt := now.Sub(m.at); dt > 0 {
			frac = float64(used-m.last) / float64(dt)
		}
	}
	m.last, m.at = used, now
	return frac
}

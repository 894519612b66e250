package cluster

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis key layout. {gig} and {id} stand for the gig and node ids; every
// expiry score is unix milliseconds on the Redis server's clock.
const (
	// keyNodes is a zset node id -> expiry of its load entry, so Nodes
	// finds the nodes without SCAN; expired members are pruned on publish.
	keyNodes = "bmg:cluster:nodes"
	// keyNodePrefix + id is the node's NodeStatus JSON, PX LoadTTL.
	keyNodePrefix = "bmg:cluster:node:"
	// keyOriginPrefix + gig is the gig's Origin JSON, PX OriginTTL.
	keyOriginPrefix = "bmg:cluster:origin:"
	// keyOrigins is the set of gig ids that have an origin key, so Tree
	// needs no SCAN; Tree drops the ids whose key expired.
	keyOrigins = "bmg:cluster:origins"
	// keyRelaysPrefix + gig is a hash child -> {"parent","relay_url"} JSON,
	// the gig's relay edges; keyRelayExpPrefix + gig, a zset child -> expiry
	// of that edge. Both keys also expire as a whole RelayTTL after the
	// last write, so the tree of a forgotten gig goes away by itself.
	keyRelaysPrefix   = "bmg:cluster:relays:"
	keyRelayExpPrefix = "bmg:cluster:relay_exp:"
	// channelEvents carries "origin <gig>" when a gig's origin owner changes.
	channelEvents = "bmg:cluster:events"
	eventOrigin   = "origin "
)

// Defaults of Config's zero fields.
const (
	defaultFanout    = 8
	defaultOriginTTL = 15 * time.Second
	defaultLoadTTL   = 6 * time.Second
	defaultRelayTTL  = 15 * time.Second
	// maxDepth bounds the relay tree: a node pulls at most maxDepth hops
	// away from the origin, each hop adding latency.
	maxDepth = 8
)

// Config describes this node to the cluster. cmd fills it and checks that
// NodeID, RelayURL and PublicURL are set.
type Config struct {
	// NodeID names this node; unique in the cluster.
	NodeID string
	// RelayURL is the base URL other nodes pull relays from
	// (http://10.0.0.2:8080).
	RelayURL string
	// PublicURL is the base URL viewers are steered (307) to.
	PublicURL string
	// Fanout is the most children a node feeds per gig in the relay tree
	// (default 8).
	Fanout int
	// OriginTTL is how long an origin claim lasts unless renewed
	// (default 15s; renew every third of it).
	OriginTTL time.Duration
	// LoadTTL is how long a published load keeps a node alive
	// (default 6s; publish every 2s).
	LoadTTL time.Duration
	// RelayTTL is how long a relay edge lasts unless renewed (default 15s).
	RelayTTL time.Duration
}

func (c Config) withDefaults() Config {
	if c.Fanout <= 0 {
		c.Fanout = defaultFanout
	}
	if c.OriginTTL <= 0 {
		c.OriginTTL = defaultOriginTTL
	}
	if c.LoadTTL <= 0 {
		c.LoadTTL = defaultLoadTTL
	}
	if c.RelayTTL <= 0 {
		c.RelayTTL = defaultRelayTTL
	}
	return c
}

// Directory is this node's view of the cluster directory in Redis. It is
// safe for concurrent use.
type Directory struct {
	rdb redis.UniversalClient
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// parents remembers the upstream each relay edge of ours was given, so
	// RenewRelay can put back an edge that expired under a slow renewal.
	parents map[string]string
}

// New returns the directory of the cluster in rdb as seen by the node cfg
// describes. It starts nothing: the caller drives renewals and load.
func New(rdb redis.UniversalClient, cfg Config, log *slog.Logger) *Directory {
	cfg = cfg.withDefaults()
	return &Directory{
		rdb:     rdb,
		cfg:     cfg,
		log:     log.With("component", "cluster", "node", cfg.NodeID),
		parents: map[string]string{},
	}
}

// NodeID returns this node's id.
func (d *Directory) NodeID() string { return d.cfg.NodeID }

// RelayURL returns the base URL other nodes pull relays from.
func (d *Directory) RelayURL() string { return d.cfg.RelayURL }

// PublicURL returns the base URL viewers are steered to.
func (d *Directory) PublicURL() string { return d.cfg.PublicURL }

func originKey(gigID string) string    { return keyOriginPrefix + gigID }
func relaysKey(gigID string) string    { return keyRelaysPrefix + gigID }
func relaysExpKey(gigID string) string { return keyRelayExpPrefix + gigID }
func nodeKey(id string) string         { return keyNodePrefix + id }

// ms renders a duration as the integer milliseconds Redis takes.
func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

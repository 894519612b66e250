// Package redisconn turns the --redis URL into a go-redis client: one node
// (redis://, rediss://) or a master found through Redis Sentinel
// (redis-sentinel://), which follows failovers by itself.
package redisconn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelScheme is the URL scheme of a master behind Redis Sentinel:
//
//	redis-sentinel://[[user]:password@]host:port[,host:port...]/master[/db][?options]
//
// The hosts are sentinels; the password is the master's. Options:
// sentinel_password (the sentinels' requirepass), wait_replicas (default 1)
// and wait_timeout (default 300ms), see Target.
const SentinelScheme = "redis-sentinel"

// Defaults of a sentinel URL's write acknowledgement.
const (
	DefaultWaitReplicas = 1
	DefaultWaitTimeout  = 300 * time.Millisecond
)

// ErrURL is wrapped by every error about the URL itself.
var ErrURL = errors.New("bad redis url")

// Target is a parsed --redis URL.
type Target struct {
	// Sentinel is true for redis-sentinel:// URLs.
	Sentinel bool
	// WaitReplicas is how many replicas must hold a write before a store
	// acknowledges it (Redis WAIT); 0 does not wait. Replication is
	// asynchronous, so without it a write acknowledged just before the
	// master dies can be missing on the replica that replaces it.
	WaitReplicas int
	// WaitTimeout bounds that wait.
	WaitTimeout time.Duration

	single   *redis.Options         // redis://, rediss://
	failover *redis.FailoverOptions // redis-sentinel://
}

// Options are the connection settings a caller chooses; zero values keep
// go-redis's defaults.
type Options struct {
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// PoolTimeout bounds waiting for a pooled connection.
	PoolTimeout time.Duration
	PoolSize    int
	// MaxRetries: -1 disables retries.
	MaxRetries            int
	ContextTimeoutEnabled bool
}

// Open parses rawURL and returns a client with o applied. A sentinel URL
// gives a failover client: it asks the sentinels for the master and moves
// its connections to the new master after a failover.
func Open(rawURL string, o Options) (*redis.Client, error) {
	t, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	return t.Client(o), nil
}

// Client returns a new client for the target with o applied.
func (t Target) Client(o Options) *redis.Client {
	if t.failover != nil {
		f := *t.failover
		f.SentinelAddrs = append([]string(nil), t.failover.SentinelAddrs...)
		o.apply(&f.DialTimeout, &f.ReadTimeout, &f.WriteTimeout, &f.PoolTimeout, &f.PoolSize, &f.MaxRetries, &f.ContextTimeoutEnabled)
		return redis.NewFailoverClient(&f)
	}
	s := *t.single
	o.apply(&s.DialTimeout, &s.ReadTimeout, &s.WriteTimeout, &s.PoolTimeout, &s.PoolSize, &s.MaxRetries, &s.ContextTimeoutEnabled)
	return redis.NewClient(&s)
}

// apply sets what o sets, so options given in a redis:// URL
// (?read_timeout=...) stay unless the caller overrides them.
func (o Options) apply(dial, read, write, pool *time.Duration, size, retries *int, ctxTimeout *bool) {
	for _, d := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{dial, o.DialTimeout}, {read, o.ReadTimeout}, {write, o.WriteTimeout}, {pool, o.PoolTimeout},
	} {
		if d.v != 0 {
			*d.dst = d.v
		}
	}
	if o.PoolSize != 0 {
		*size = o.PoolSize
	}
	if o.MaxRetries != 0 {
		*retries = o.MaxRetries
	}
	if o.ContextTimeoutEnabled {
		*ctxTimeout = true
	}
}

// Parse checks a redis://, rediss:// or redis-sentinel:// URL.
func Parse(rawURL string) (Target, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return Target{}, fmt.Errorf("%w: want redis://, rediss:// or %s://", ErrURL, SentinelScheme)
	}
	switch scheme {
	case "redis", "rediss":
		return parseSingle(rawURL)
	case SentinelScheme:
		return parseSentinel(rest)
	}
	return Target{}, fmt.Errorf("%w: unknown scheme %q (want redis, rediss or %s)", ErrURL, scheme, SentinelScheme)
}

func parseSingle(rawURL string) (Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return Target{}, fmt.Errorf("%w: want redis://[[user]:password@]host:port[/db]", ErrURL)
	}
	t := Target{}
	q := u.Query()
	if err := t.takeWait(q, 0); err != nil {
		return Target{}, err
	}
	u.RawQuery = q.Encode()
	opt, err := redis.ParseURL(u.String())
	if err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrURL, err)
	}
	t.single = opt
	return t, nil
}

func parseSentinel(rest string) (Target, error) {
	const want = "want " + SentinelScheme + "://[[user]:password@]host:port[,host:port...]/master[/db]"
	rest, rawQuery, _ := strings.Cut(rest, "?")
	hostPart, path, _ := strings.Cut(rest, "/")
	f := &redis.FailoverOptions{}
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		user, pass, _ := strings.Cut(hostPart[:at], ":")
		var err error
		if f.Username, err = url.PathUnescape(user); err != nil {
			return Target{}, fmt.Errorf("%w: user: %v", ErrURL, err)
		}
		if f.Password, err = url.PathUnescape(pass); err != nil {
			return Target{}, fmt.Errorf("%w: password: %v", ErrURL, err)
		}
		hostPart = hostPart[at+1:]
	}
	for _, h := range strings.Split(hostPart, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return Target{}, fmt.Errorf("%w: sentinel %q: %s", ErrURL, h, want)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("%w: sentinel %q: bad port", ErrURL, h)
		}
		f.SentinelAddrs = append(f.SentinelAddrs, h)
	}
	name, db, hasDB := strings.Cut(path, "/")
	if name == "" {
		return Target{}, fmt.Errorf("%w: no master name: %s", ErrURL, want)
	}
	var err error
	if f.MasterName, err = url.PathUnescape(name); err != nil {
		return Target{}, fmt.Errorf("%w: master name: %v", ErrURL, err)
	}
	if hasDB && db != "" {
		if f.DB, err = strconv.Atoi(db); err != nil || f.DB < 0 {
			return Target{}, fmt.Errorf("%w: bad db %q", ErrURL, db)
		}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Target{}, fmt.Errorf("%w: query: %v", ErrURL, err)
	}
	t := Target{Sentinel: true}
	if err := t.takeWait(q, DefaultWaitReplicas); err != nil {
		return Target{}, err
	}
	if q.Has("sentinel_password") {
		f.SentinelPassword = q.Get("sentinel_password")
		q.Del("sentinel_password")
	}
	for k := range q {
		return Target{}, fmt.Errorf("%w: unknown option %q", ErrURL, k)
	}
	t.failover = f
	return t, nil
}

// takeWait reads and removes the wait_replicas and wait_timeout options.
func (t *Target) takeWait(q url.Values, defReplicas int) error {
	t.WaitReplicas, t.WaitTimeout = defReplicas, DefaultWaitTimeout
	if q.Has("wait_replicas") {
		n, err := strconv.Atoi(q.Get("wait_replicas"))
		if err != nil || n < 0 {
			return fmt.Errorf("%w: wait_replicas: want a number >= 0", ErrURL)
		}
		t.WaitReplicas = n
		q.Del("wait_replicas")
	}
	if q.Has("wait_timeout") {
		d, err := time.ParseDuration(q.Get("wait_timeout"))
		if err != nil || d < time.Millisecond {
			return fmt.Errorf("%w: wait_timeout: want a duration >= 1ms", ErrURL)
		}
		t.WaitTimeout = d
		q.Del("wait_timeout")
	}
	return nil
}

// Redact returns rawURL fit for logs: passwords (user info and
// sentinel_password) are replaced, and a URL that does not parse is reduced
// to its scheme, since it may hold a password in a shape we do not know.
func Redact(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return "redacted"
	}
	if _, err := Parse(rawURL); err != nil {
		return scheme + "://redacted"
	}
	rest, rawQuery, hasQuery := strings.Cut(rest, "?")
	hostPart, path, hasPath := strings.Cut(rest, "/")
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		hostPart = "redacted:redacted@" + hostPart[at+1:]
	}
	out := scheme + "://" + hostPart
	if hasPath {
		out += "/" + path
	}
	if hasQuery {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return scheme + "://redacted"
		}
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, "redacted")
			}
		}
		out += "?" + q.Encode()
	}
	return out
}

package redisconn

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, url    string
		sentinel     bool
		addrs        []string // sentinels, or the one node
		master, pass string
		sentinelPass string
		db           int
		waitReplicas int
		waitTimeout  time.Duration
		wantErr      string
	}{
		{name: "single", url: "redis://127.0.0.1:6379/2", addrs: []string{"127.0.0.1:6379"}, db: 2, waitTimeout: DefaultWaitTimeout},
		{name: "single password", url: "redis://:s3cret@h:1/0", addrs: []string{"h:1"}, pass: "s3cret", waitTimeout: DefaultWaitTimeout},
		{name: "single tls", url: "rediss://h:6380", addrs: []string{"h:6380"}, waitTimeout: DefaultWaitTimeout},
		{name: "single wait", url: "redis://h:1/0?wait_replicas=2&wait_timeout=1s", addrs: []string{"h:1"}, waitReplicas: 2, waitTimeout: time.Second},
		{name: "sentinel one", url: "redis-sentinel://127.0.0.1:26379/mymaster", sentinel: true, addrs: []string{"127.0.0.1:26379"}, master: "mymaster", waitReplicas: 1, waitTimeout: DefaultWaitTimeout},
		{name: "sentinel three db", url: "redis-sentinel://:pw@a:1,b:2,[::1]:3/m/4", sentinel: true, addrs: []string{"a:1", "b:2", "[::1]:3"}, master: "m", pass: "pw", db: 4, waitReplicas: 1, waitTimeout: DefaultWaitTimeout},
		{name: "sentinel options", url: "redis-sentinel://a:1/m?sentinel_password=sp&wait_replicas=0&wait_timeout=50ms", sentinel: true, addrs: []string{"a:1"}, master: "m", sentinelPass: "sp", waitTimeout: 50 * time.Millisecond},
		{name: "sentinel escaped password", url: "redis-sentinel://:p%40ss@a:1/m", sentinel: true, addrs: []string{"a:1"}, master: "m", pass: "p@ss", waitReplicas: 1, waitTimeout: DefaultWaitTimeout},
		{name: "no scheme", url: "127.0.0.1:6379", wantErr: "want redis://"},
		{name: "unknown scheme", url: "http://h:1", wantErr: "unknown scheme"},
		{name: "single no host", url: "redis:///0", wantErr: "want redis://"},
		{name: "sentinel no master", url: "redis-sentinel://a:1", wantErr: "no master name"},
		{name: "sentinel no master slash", url: "redis-sentinel://a:1/", wantErr: "no master name"},
		{name: "sentinel no port", url: "redis-sentinel://a/m", wantErr: "sentinel \"a\""},
		{name: "sentinel bad port", url: "redis-sentinel://a:0/m", wantErr: "bad port"},
		{name: "sentinel empty host", url: "redis-sentinel://a:1,/m", wantErr: "sentinel \"\""},
		{name: "sentinel bad db", url: "redis-sentinel://a:1/m/x", wantErr: "bad db"},
		{name: "sentinel unknown option", url: "redis-sentinel://a:1/m?foo=1", wantErr: "unknown option"},
		{name: "bad wait", url: "redis-sentinel://a:1/m?wait_replicas=-1", wantErr: "wait_replicas"},
		{name: "bad wait timeout", url: "redis://h:1?wait_timeout=0s", wantErr: "wait_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrURL) {
					t.Fatalf("Parse(%q) err = %v, want ErrURL containing %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.url, err)
			}
			if got.Sentinel != tt.sentinel || got.WaitReplicas != tt.waitReplicas || got.WaitTimeout != tt.waitTimeout {
				t.Fatalf("got sentinel=%v wait=%d/%v, want %v %d/%v", got.Sentinel, got.WaitReplicas, got.WaitTimeout, tt.sentinel, tt.waitReplicas, tt.waitTimeout)
			}
			if tt.sentinel {
				f := got.failover
				if strings.Join(f.SentinelAddrs, " ") != strings.Join(tt.addrs, " ") || f.MasterName != tt.master ||
					f.Password != tt.pass || f.SentinelPassword != tt.sentinelPass || f.DB != tt.db {
					t.Fatalf("failover options %+v", f)
				}
			} else {
				s := got.single
				if s.Addr != tt.addrs[0] || s.Password != tt.pass || s.DB != tt.db {
					t.Fatalf("options %+v", s)
				}
			}
			c := got.Client(Options{DialTimeout: time.Millisecond, MaxRetries: -1})
			if err := c.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"redis://h:1/0", "redis://h:1/0"},
		{"redis://:s3cret@h:1/0", "redis://redacted:redacted@h:1/0"},
		{"redis-sentinel://u:s3cret@a:1,b:2/m/1", "redis-sentinel://redacted:redacted@a:1,b:2/m/1"},
		{"redis-sentinel://a:1/m?sentinel_password=s3cret&wait_replicas=1", "redis-sentinel://a:1/m?sentinel_password=redacted&wait_replicas=1"},
		{"redis://:s3/cret@h:1/0", "redis://redacted"},
		{"redis-sentinel://:s3/cret@a:1/m", "redis-sentinel://redacted"},
		{"s3cret", "redacted"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(Redact(tt.in), "s3") {
			t.Errorf("Redact(%q) leaks the secret", tt.in)
		}
	}
}

func FuzzParse(f *testing.F) {
	// "pw://:pw@0": the password is also the scheme, which Redact keeps.
	for _, s := range []string{"redis://h:1/0", "redis-sentinel://:pw@a:1,b:2/m/4?wait_replicas=1", "redis-sentinel://a:1/m?sentinel_password=x", "pw://:pw@0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Parse(s)
		if !strings.Contains(s, ":pw@") {
			return
		}
		// The password "pw" leaks if the redacted form has more "pw" than
		// the input has outside it (a scheme, host or path may spell it).
		if r := Redact(s); strings.Count(r, "pw") > strings.Count(strings.Replace(s, ":pw@", ":@", 1), "pw") {
			t.Fatalf("Redact(%q) = %q leaks pw", s, r)
		}
	})
}

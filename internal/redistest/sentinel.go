package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel timings: a master that stops answering is down after
// DownAfter, and the sentinels promote its replica a second or two later.
const (
	SentinelMaster  = "bmg"
	DownAfter       = time.Second
	failoverTimeout = 3 * time.Second
	sentinelQuorum  = 2
)

// noSyncDelay starts a full resync at once instead of Redis's 5 s wait for
// more replicas to share it.
func noSyncDelay() []string { return []string{"--repl-diskless-sync-delay", "0"} }

// Sentinel is a Redis master, one replica and three sentinels watching
// them (quorum 2), all on loopback, owned by one test.
type Sentinel struct {
	// Master and Replica are the servers in their starting roles; after a
	// failover the Replica is the master.
	Master, Replica *Server
	// Addrs are the sentinels' host:port.
	Addrs []string
	procs []*exec.Cmd
}

// StartSentinel launches the master, its replica and three sentinels, and
// returns once the replica is in sync and every sentinel knows both servers
// and the other sentinels. A missing redis-sentinel fails the test with how
// to install it.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		t.Fatalf("redis-sentinel not found on PATH: install it with `apt-get install -y redis-sentinel` (or run `make test`, which installs it on Debian as root)")
	}
	master := start(t, false, noSyncDelay()...)
	host, port, _ := net.SplitHostPort(master.Addr)
	replica := start(t, false, append([]string{"--replicaof", host, port}, noSyncDelay()...)...)
	s := &Sentinel{Master: master, Replica: replica}
	// The directories go after the processes (cleanups run last first).
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	t.Cleanup(s.stop)
	for i, dir := range dirs {
		s.launchSentinel(t, bin, i, dir)
	}
	s.waitReady(t)
	return s
}

// URL returns the redis-sentinel:// URL of the master, database 0.
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.Addrs, ",") + "/" + SentinelMaster + "/0"
}

func (s *Sentinel) launchSentinel(t testing.TB, bin string, i int, dir string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Master.Addr)
	for attempt := 0; ; attempt++ {
		p, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find free port: %v", err)
		}
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
dir %s
sentinel monitor %s %s %s %d
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
sentinel parallel-syncs %s 1
`, p, dir, SentinelMaster, host, port, sentinelQuorum,
			SentinelMaster, DownAfter.Milliseconds(), SentinelMaster, failoverTimeout.Milliseconds(), SentinelMaster)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatalf("redistest: write sentinel %d config: %v", i, err)
		}
		cmd := exec.Command(bin, conf)
		if err := cmd.Start(); err != nil {
			t.Fatalf("redistest: start redis-sentinel: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && ping(addr) != nil {
			time.Sleep(20 * time.Millisecond)
		}
		if ping(addr) == nil {
			s.procs = append(s.procs, cmd)
			s.Addrs = append(s.Addrs, addr)
			return
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if attempt == 4 {
			t.Fatalf("redistest: redis-sentinel %d did not answer PING on %s", i, addr)
		}
	}
}

// waitReady waits for the replica to be in sync and for every sentinel to
// see it and the two other sentinels: a failover before that would have
// nothing to promote or no quorum.
func (s *Sentinel) waitReady(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	mc := redis.NewClient(&redis.Options{Addr: s.Master.Addr})
	defer mc.Close()
	var last string
	for time.Now().Before(deadline) {
		ready := true
		info, err := mc.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "state=online") {
			ready, last = false, "replica not in sync"
		}
		for _, a := range s.Addrs {
			if !ready {
				break
			}
			m, err := s.sentinelMaster(ctx, a)
			if err != nil || m["num-other-sentinels"] != "2" || m["num-slaves"] != "1" || m["flags"] != "master" {
				ready, last = false, fmt.Sprintf("sentinel %s sees %v (err %v)", a, m, err)
			}
		}
		if ready {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: sentinels not ready within 30s: %s", last)
}

func (s *Sentinel) sentinelMaster(ctx context.Context, addr string) (map[string]string, error) {
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second})
	defer sc.Close()
	return sc.Master(ctx, SentinelMaster).Result()
}

// MasterAddr asks the sentinels which server is the master now.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var lastErr error
	for _, a := range s.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second})
		hp, err := sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
		_ = sc.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("no sentinel answered: %v", lastErr)
}

// KillMaster kills the current master with SIGKILL and returns it (Restart
// brings it back; the sentinels then make it a replica of the new master).
func (s *Sentinel) KillMaster(t testing.TB) *Server {
	t.Helper()
	addr, err := s.MasterAddr(context.Background())
	if err != nil {
		t.Fatalf("redistest: find master: %v", err)
	}
	for _, srv := range []*Server{s.Master, s.Replica} {
		if srv.Addr == addr {
			srv.Stop() // SIGKILL: no shutdown, no last replication
			return srv
		}
	}
	t.Fatalf("redistest: sentinels name %s as master, which is neither server", addr)
	return nil
}

// WaitFailover waits until every sentinel names a master other than old and
// that server answers as a master, and returns its address.
func (s *Sentinel) WaitFailover(t testing.TB, old string, timeout time.Duration) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		addr, agreed := "", true
		for _, a := range s.Addrs {
			sc := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second})
			hp, err := sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
			_ = sc.Close()
			if err != nil || len(hp) != 2 {
				agreed = false
				break
			}
			got := net.JoinHostPort(hp[0], hp[1])
			if got == old || (addr != "" && got != addr) {
				agreed = false
				break
			}
			addr = got
		}
		if agreed && isMaster(ctx, addr) {
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redistest: no failover away from %s within %v", old, timeout)
	return ""
}

func isMaster(ctx context.Context, addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	return err == nil && strings.Contains(info, "role:master")
}

// WaitReplicas waits until the master at addr has n replicas in sync.
func (s *Sentinel) WaitReplicas(t testing.TB, addr string, n int, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Count(info, "state=online") >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redistest: master %s has not %d replica(s) in sync within %v", addr, n, timeout)
}

func (s *Sentinel) stop() {
	for _, c := range s.procs {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	s.procs = nil
}

// Rejoin restarts a killed server as a replica of master, as the sentinels
// would make it after their ~10 s of caution, and waits until it is in sync.
func (s *Sentinel) Rejoin(t testing.TB, srv *Server, master string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(master)
	srv.args = append([]string{"--replicaof", host, port}, noSyncDelay()...)
	srv.Restart(t)
	s.WaitReplicas(t, master, 1, 20*time.Second)
}

// Freeze stops the server process (SIGSTOP) until the returned function
// resumes it (SIGCONT): a replica that holds its connection but
// acknowledges nothing, as one stuck on a slow disk or network.
func (s *Server) Freeze(t testing.TB) (resume func()) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("redistest: freeze %s: %v", s.Addr, err)
	}
	var once sync.Once
	resume = func() { once.Do(func() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

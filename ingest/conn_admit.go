package ingest

import (
	"container/list"
	"fmt"
	"net"
	"time"
)

// Admission: why a per-address cap, an absolute publish deadline and
// eviction, rather than a reserved share of MaxConns.
//
// At accept time nothing tells a publisher from an idle connection, so a
// reserved share would be filled by idle connections too. Instead:
//   - MaxConnsPerIP bounds what one address (one IPv6 /64) holds, refused
//     before the handshake and before go-rtmp allocates anything;
//   - PublishTimeout, counted from accept, bounds how long any connection
//     that has not published holds a slot, however it trickles bytes;
//   - PrePublishBytes bounds the memory such a connection can make the
//     server hold;
//   - and when MaxConns is reached the oldest connection that has not
//     published yet is closed to make room. Publishers are never evicted.
//     A real encoder publishes within one or two round trips of connecting,
//     so to push one out an attacker must open MaxConns newer connections
//     in that window, from MaxConns/MaxConnsPerIP addresses; without
//     eviction, that many addresses reconnecting every PublishTimeout would
//     keep every creator out.

// ipKey is the unit MaxConnsPerIP counts: the IPv4 address, or the /64 of
// an IPv6 address (one host usually holds a whole /64).
func ipKey(a net.Addr) string {
	var ip net.IP
	switch t := a.(type) {
	case *net.TCPAddr:
		ip = t.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = net.ParseIP(host)
		if ip == nil {
			return host
		}
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// admission is the Server's bookkeeping of open connections; guarded by
// Server.mu.
type admission struct {
	open    int            // admitted connections not yet released
	perIP   map[string]int // open connections per ipKey
	waiting *list.List     // *deadlineConn not publishing yet, oldest first
}

// admit decides on a newly accepted connection. It returns nil after
// closing nc when it is refused.
func (s *Server) admit(nc net.Conn) *deadlineConn {
	now := time.Now()
	c := &deadlineConn{Conn: nc, cfg: &s.cfg, ip: ipKey(nc.RemoteAddr()), accepted: now, guard: newChunkGuard(s.cfg.MaxMessageBytes), ctr: &s.ctr}
	var victim *deadlineConn
	var refusal error
	s.mu.Lock()
	switch {
	case s.closed:
		refusal = ErrServerClosed
	case s.adm.perIP[c.ip] >= s.cfg.MaxConnsPerIP:
		refusal = fmt.Errorf("%w (%d from %s)", ErrTooManyConnsPerIP, s.cfg.MaxConnsPerIP, c.ip)
		s.ctr.ipConnsRefused.Add(1)
	case s.adm.open >= s.cfg.MaxConns && s.adm.waiting.Len() == 0:
		refusal = fmt.Errorf("%w (%d publishing)", ErrTooManyConns, s.cfg.MaxConns)
		s.ctr.connsRefused.Add(1)
	default:
		if s.adm.open >= s.cfg.MaxConns {
			victim = s.adm.waiting.Remove(s.adm.waiting.Front()).(*deadlineConn)
			victim.waiting = nil
			s.releaseLocked(victim)
			s.ctr.evicted.Add(1)
		}
		s.adm.open++
		s.adm.perIP[c.ip]++
		c.admitted = true
		c.waiting = s.adm.waiting.PushBack(c)
		c.onClose = func() { s.untrack(c) }
		s.conns[c] = struct{}{}
		s.wg.Add(1)
	}
	s.mu.Unlock()

	if victim != nil {
		// Its goroutine ends on the closed socket and untracks it.
		_ = victim.Conn.Close()
		s.log.Debug("rtmp connection evicted: not publishing and the server is full",
			"remote", victim.RemoteAddr().String(), "age", now.Sub(victim.accepted).Round(time.Millisecond))
	}
	if refusal != nil {
		_ = nc.Close()
		if refusal != ErrServerClosed {
			if quiet, ok := s.quiet.allow(now); ok {
				s.log.Warn("rtmp connection refused", "err", refusal, "remote", nc.RemoteAddr().String(), "quiet_since_last", quiet)
			}
		}
		return nil
	}
	return c
}

// startPublishing takes c out of the eviction queue; false means it was
// already evicted (or the server is closing) and must not publish.
func (s *Server) startPublishing(c *deadlineConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.admitted || s.closed {
		return false
	}
	if c.waiting != nil {
		s.adm.waiting.Remove(c.waiting)
		c.waiting = nil
	}
	c.publishing.Store(true)
	return true
}

// releaseLocked frees c's slot and address count once, at eviction or
// close, whichever is first.
func (s *Server) releaseLocked(c *deadlineConn) {
	if !c.admitted {
		return
	}
	c.admitted = false
	if c.waiting != nil {
		s.adm.waiting.Remove(c.waiting)
		c.waiting = nil
	}
	s.adm.open--
	if n := s.adm.perIP[c.ip] - 1; n > 0 {
		s.adm.perIP[c.ip] = n
	} else {
		delete(s.adm.perIP, c.ip)
	}
}

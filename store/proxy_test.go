package store

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy sits between a store and redis-server to inject faults: it can
// cut every connection after a byte budget (a crash mid-write) or freeze
// (a Redis that accepts but never answers).
type faultProxy struct {
	ln     net.Listener
	target string
	// budget is how many more client->server bytes may pass; <0 is unlimited.
	budget    atomic.Int64
	forwarded atomic.Int64
	frozen    atomic.Bool
	mu        sync.Mutex
	conns     []net.Conn
	wg        sync.WaitGroup
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target}
	p.budget.Store(-1)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) url() string { return "redis://" + p.ln.Addr().String() + "/0" }

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.pipe(s, c, true) // client -> server
		}()
		go func() {
			defer p.wg.Done()
			p.pipe(c, s, false) // server -> client
		}()
	}
}

// pipe copies src to dst; when frozen it swallows bytes, and the
// client->server direction obeys the byte budget.
func (p *faultProxy) pipe(dst, src net.Conn, toServer bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			chunk := buf[:n]
			cut := false
			if toServer {
				if b := p.budget.Load(); b >= 0 {
					if int64(len(chunk)) >= b {
						chunk, cut = chunk[:b], true
					}
					p.budget.Add(-int64(len(chunk)))
				}
				p.forwarded.Add(int64(len(chunk)))
			}
			if _, werr := dst.Write(chunk); werr != nil || cut {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// cutAll closes every open connection (Redis restarted under the client).
func (p *faultProxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *faultProxy) close() {
	_ = p.ln.Close()
	p.cutAll()
	p.wg.Wait()
}

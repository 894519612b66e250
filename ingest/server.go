// Package ingest is the RTMP ingest: OBS and ffmpeg publish to
// rtmp://HOST/live with the gig's stream key, and every FLV tag becomes a
// media.Frame on the gig's media.Stream.
//
// go-rtmp v0.0.7 does the protocol. Its Server closes only the listener, so
// this package tracks every connection; it sets no deadlines, so each read
// and write here has one; and it can panic on malformed chunks, which it
// recovers inside its read loop, so a bad client only ever loses its own
// connection.
package ingest

import (
	"container/list"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/yutopp/go-rtmp"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/media"
)

// Server accepts RTMP publishers.
type Server struct {
	cfg  Config
	keys access.KeyResolver
	reg  *media.Registry
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	rtmp   *rtmp.Server
	conns  map[*deadlineConn]struct{}
	adm    admission
	wg     sync.WaitGroup
	ctr    counters
	quiet  logLimiter
}

// New returns a Server; call Serve to accept connections.
func New(cfg Config, keys access.KeyResolver, reg *media.Registry, log *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if keys == nil || reg == nil {
		return nil, errors.New("ingest: KeyResolver and Registry are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:    cfg,
		keys:   keys,
		reg:    reg,
		log:    log.With("component", "ingest"),
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[*deadlineConn]struct{}),
		adm:    admission{perIP: make(map[string]int), waiting: list.New()},
	}
	s.rtmp = rtmp.NewServer(&rtmp.ServerConfig{OnConnect: s.onConnect})
	return s, nil
}

// Serve accepts connections on ln until Close; it then returns
// ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.log.Info("rtmp ingest listening", "addr", ln.Addr().String(), "app", s.cfg.App)
	err := s.rtmp.Serve(&backoffListener{Listener: ln, ctx: s.ctx, log: s.log, stop: func() { _ = s.rtmp.Close() }, admit: s.admit})
	if s.ctx.Err() != nil || errors.Is(err, rtmp.ErrClosed) {
		return ErrServerClosed
	}
	return err
}

// Close stops accepting, closes every connection (their streams are
// unpublished) and waits for their goroutines. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	s.cancel()
	conns := make([]*deadlineConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	_ = s.rtmp.Close()
	for _, c := range conns {
		// The raw close unblocks go-rtmp's reads; its goroutine then calls
		// deadlineConn.Close, which marks it done.
		_ = c.Conn.Close()
	}
	s.wg.Wait()
}

// Conns returns the number of open RTMP connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) onConnect(nc net.Conn) (io.ReadWriteCloser, *rtmp.ConnConfig) {
	// Every connection comes through backoffListener, which admitted it.
	c, ok := nc.(*deadlineConn)
	if !ok {
		if c = s.admit(nc); c == nil {
			// go-rtmp's goroutine fails at once on the closed conn.
			c = &deadlineConn{Conn: nc, cfg: &s.cfg, guard: newChunkGuard(s.cfg.MaxMessageBytes), onClose: func() {}}
		}
	}
	log := s.log.With("remote", nc.RemoteAddr().String())
	h := &publishHandler{srv: s, conn: c, log: log}
	_ = c.Conn.SetDeadline(c.accepted.Add(min(s.cfg.HandshakeTimeout, s.cfg.PublishTimeout)))
	return c, &rtmp.ConnConfig{
		Handler: h,
		ControlState: rtmp.StreamControlStateConfig{
			DefaultBandwidthWindowSize: 6 * 1024 * 1024 / 8,
			// go-rtmp buffers per chunk stream and per message stream;
			// encoders use a handful of each.
			MaxChunkStreams:   64,
			MaxMessageStreams: 8,
		},
		ReaderBufferSize: 32 << 10,
		WriterBufferSize: 4 << 10,
		Logger:           newRTMPLogger(log, h),
	}
}

func (s *Server) untrack(c *deadlineConn) {
	s.mu.Lock()
	s.releaseLocked(c)
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// backoffListener keeps go-rtmp's accept loop (which retries immediately on
// any error) from spinning on persistent errors such as EMFILE.
type backoffListener struct {
	net.Listener
	ctx   context.Context
	log   *slog.Logger
	stop  func()
	delay time.Duration
	// admit returns nil for a connection it refused (and closed).
	admit func(net.Conn) *deadlineConn
}

// Accept refuses connections over the caps here, so that go-rtmp never
// starts a goroutine or allocates buffers for them.
func (l *backoffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	for err == nil {
		l.delay = 0
		if dc := l.admit(c); dc != nil {
			return dc, nil
		}
		c, err = l.Listener.Accept()
	}
	if l.ctx.Err() != nil {
		return nil, err
	}
	if errors.Is(err, net.ErrClosed) {
		// Closed by someone else: stop go-rtmp's loop too.
		l.stop()
		return nil, err
	}
	if l.delay == 0 {
		l.delay = 5 * time.Millisecond
	} else if l.delay < time.Second {
		l.delay *= 2
	}
	l.log.Warn("rtmp accept failed", "err", err, "retry_in", l.delay)
	select {
	case <-time.After(l.delay):
	case <-l.ctx.Done():
	}
	return nil, err
}

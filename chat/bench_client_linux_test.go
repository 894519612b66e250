package chat

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// benchConn is one load-generator WebSocket client of the chat benchmark on
// a raw socket. The 1,000 clients share this machine's two cores with the
// nodes they measure, so they are kept cheap: a few epoll loops read every
// socket (one read per wake-up, no goroutine per client, no allocation per
// message), where gorilla clients cost more CPU than the nodes themselves.
// It speaks just what the benchmark needs: the handshake, masked text
// frames out, unmasked frames in.
type benchConn struct {
	fd      int
	pending []byte // an incomplete frame carried to the next read
	wmu     sync.Mutex
	wbuf    []byte
}

// dialBenchConn connects, upgrades and returns with the socket blocking;
// bytes that came after the handshake response are left in pending.
func dialBenchConn(wsURL string) (*benchConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	addr, err := net.ResolveTCPAddr("tcp4", u.Host)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	c := &benchConn{fd: fd}
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil {
		c.close()
		return nil, fmt.Errorf("connect %s: %w", u.Host, err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if err := c.writeAll([]byte(req)); err != nil {
		c.close()
		return nil, err
	}
	buf := make([]byte, 4096)
	var resp []byte
	for {
		n, err := syscall.Read(fd, buf)
		if n <= 0 {
			c.close()
			return nil, fmt.Errorf("handshake: read: %v", err)
		}
		resp = append(resp, buf[:n]...)
		if i := bytes.Index(resp, []byte("\r\n\r\n")); i >= 0 {
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
				c.close()
				return nil, fmt.Errorf("handshake refused: %q", resp[:i])
			}
			c.pending = append(c.pending, resp[i+4:]...)
			return c, nil
		}
	}
}

func (c *benchConn) writeAll(p []byte) error {
	for len(p) > 0 {
		n, err := syscall.Write(c.fd, p)
		if err != nil {
			if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) {
				continue
			}
			return err
		}
		p = p[n:]
	}
	return nil
}

// writeText sends one masked text frame (clients must mask, RFC 6455 5.3).
func (c *benchConn) writeText(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	mask := [4]byte{0x5a, 0x13, 0xc7, 0x2e}
	b := append(c.wbuf[:0], 0x81)
	if len(p) < 126 {
		b = append(b, 0x80|byte(len(p)))
	} else {
		b = append(b, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	b = append(b, mask[:]...)
	for i, x := range p {
		b = append(b, x^mask[i%4])
	}
	c.wbuf = b
	return c.writeAll(b)
}

// feed appends data to the stream and calls text for every complete text
// frame; other frames (ping, close) are skipped.
func (c *benchConn) feed(data []byte, text func([]byte)) {
	buf := data
	if len(c.pending) > 0 {
		c.pending = append(c.pending, data...)
		buf = c.pending
	}
	for len(buf) >= 2 {
		op, n, hdr := buf[0]&0x0f, int(buf[1]&0x7f), 2
		switch n {
		case 126:
			if len(buf) < 4 {
				break
			}
			n, hdr = int(buf[2])<<8|int(buf[3]), 4
		case 127:
			if len(buf) < 10 {
				break
			}
			n, hdr = 0, 10
			for _, x := range buf[2:10] {
				n = n<<8 | int(x)
			}
		}
		if (n >= 126 && hdr == 2) || len(buf) < hdr+n {
			break // incomplete header or payload
		}
		if op == 0x1 {
			text(buf[hdr : hdr+n])
		}
		buf = buf[hdr+n:]
	}
	c.pending = append(c.pending[:0], buf...)
}

// readUntil reads (blocking) until a text frame containing marker.
func (c *benchConn) readUntil(marker []byte) error {
	found := false
	check := func(p []byte) {
		if bytes.Contains(p, marker) {
			found = true
		}
	}
	c.feed(nil, check)
	buf := make([]byte, 64<<10)
	for !found {
		n, err := syscall.Read(c.fd, buf)
		if n <= 0 {
			return fmt.Errorf("read: %v (connection closed)", err)
		}
		c.feed(buf[:n], check)
	}
	return nil
}

func (c *benchConn) close() { _ = syscall.Close(c.fd) }

// benchPoller reads a group of benchConns with one epoll loop on its own
// thread, until stop is closed.
type benchPoller struct {
	epfd  int
	conns map[int32]*benchConn
	on    map[int32]func(now time.Time, frame []byte)
}

func newBenchPoller() (*benchPoller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &benchPoller{epfd: fd, conns: map[int32]*benchConn{}, on: map[int32]func(time.Time, []byte){}}, nil
}

// add registers c (level-triggered; one read per readiness never blocks).
func (p *benchPoller) add(c *benchConn, text func(now time.Time, frame []byte)) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return err
	}
	p.conns[int32(c.fd)], p.on[int32(c.fd)] = c, text
	return nil
}

func (p *benchPoller) run(stop <-chan struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 256<<10)
	for {
		select {
		case <-stop:
			_ = syscall.Close(p.epfd)
			return
		default:
		}
		n, err := syscall.EpollWait(p.epfd, events, 50)
		if err != nil {
			continue // EINTR
		}
		now := time.Now()
		for _, ev := range events[:n] {
			c := p.conns[ev.Fd]
			m, _ := syscall.Read(c.fd, buf)
			if m <= 0 { // closed: stop watching it
				_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
				continue
			}
			on := p.on[ev.Fd]
			c.feed(buf[:m], func(frame []byte) { on(now, frame) })
		}
	}
}

// joinFrame is a client's join message.
func joinFrame(i int) []byte { return []byte(`{"type":"join","name":"c` + strconv.Itoa(i) + `"}`) }

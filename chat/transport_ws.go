package chat

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/wsframe"
)

// refuseUpgrade answers a request the upgrader refuses (not a WebSocket
// handshake, a foreign origin) with the JSON error body.
func refuseUpgrade(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	code, msg := codeBadRequest, reason.Error()
	switch status {
	case http.StatusForbidden:
		code = codeForbidden
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case http.StatusInternalServerError:
		code, msg = "internal", "internal error"
	}
	w.Header().Set("Sec-Websocket-Version", "13") // as gorilla's own refusal
	httperr.Write(w, status, code, msg)
}

// readWS reads frames until the connection fails or the client is stopped.
// Each frame is read through a limit so an oversized one costs at most
// MaxFrameBytes+1 bytes before the client is told and closed.
func readWS(c *client, ws *websocket.Conn) {
	pongWait := 2 * c.hub.cfg.PingInterval
	ws.SetReadLimit(1 << 20) // hard ceiling; the limit users see is MaxFrameBytes
	_ = ws.SetReadDeadline(time.Now().Add(pongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(pongWait))
	})
	// Only the writer goroutine writes: pongs and the close echo go through it.
	ws.SetPingHandler(func(data string) error {
		select {
		case c.w.pongs <- []byte(data):
		default:
		}
		return ws.SetReadDeadline(time.Now().Add(pongWait))
	})
	ws.SetCloseHandler(func(int, string) error {
		c.stop(true, closeNormal, "")
		return nil
	})
	buf := new(bytes.Buffer)
	for {
		mt, rd, err := ws.NextReader()
		if err != nil {
			return
		}
		_ = ws.SetReadDeadline(time.Now().Add(pongWait))
		buf.Reset()
		if _, err := buf.ReadFrom(io.LimitReader(rd, int64(c.hub.cfg.MaxFrameBytes)+1)); err != nil {
			return
		}
		if buf.Len() > c.hub.cfg.MaxFrameBytes {
			c.fail(codeTooLarge, "frame larger than the limit", closeTooBig)
			return
		}
		if mt != websocket.TextMessage {
			c.sendError(codeBadRequest, "frames must be JSON text", 0)
			continue
		}
		c.handle(buf.Bytes())
		if c.stopped() {
			return
		}
	}
}

// wsTransport writes WebSocket frames itself, straight to the connection:
// gorilla/websocket writes (and flushes) one message per syscall, which at
// 100 messages/s to 1,000 viewers is most of a node's CPU; here everything
// queued for a client leaves in one writev. Server frames are unmasked and
// uncompressed, so a frame is a 2-10 byte header and the payload. gorilla
// still reads; its ping and close handlers are replaced so it never writes.
type wsTransport struct {
	ws           *websocket.Conn
	nc           net.Conn
	raw          syscall.RawConn // nil when nc has no file descriptor
	writeTimeout time.Duration
	hdr          []byte
	bufs         net.Buffers
}

func newWSTransport(ws *websocket.Conn, writeTimeout time.Duration) *wsTransport {
	t := &wsTransport{ws: ws, nc: ws.NetConn(), writeTimeout: writeTimeout}
	if sc, ok := t.nc.(syscall.Conn); ok && canWriteNow {
		if rc, err := sc.SyscallConn(); err == nil {
			t.raw = rc
		}
	}
	return t
}

// asDirect returns tr as a directWriter when it can write without blocking.
func asDirect(tr transport) directWriter {
	if t, ok := tr.(*wsTransport); ok {
		if t.raw == nil {
			return nil
		}
		return t
	}
	d, _ := tr.(directWriter)
	return d
}

// tryWrite writes what the socket takes now (see writeNow) and returns the
// rest of b.
func (t *wsTransport) tryWrite(b *batch) (*batch, error) {
	p := b.wsBytes()
	n, err := writeNow(t.raw, p)
	switch {
	case err != nil:
		return nil, err
	case n == 0:
		return b, nil
	case n < len(p):
		return wireRest(p[n:]), nil
	}
	return nil, nil
}

// writeControl writes one control frame (ping, pong, close).
func (t *wsTransport) writeControl(op wsframe.Opcode, payload []byte) error {
	t.hdr = wsframe.AppendHeader(t.hdr[:0], op, len(payload))
	t.bufs = append(t.bufs[:0], t.hdr, payload)
	return t.flush(time.Now().Add(t.writeTimeout))
}

// flush writes bufs in one writev by deadline.
func (t *wsTransport) flush(deadline time.Time) error {
	_ = t.nc.SetWriteDeadline(deadline)
	bufs := t.bufs // WriteTo consumes its receiver
	_, err := bufs.WriteTo(t.nc)
	clear(t.bufs)
	return err
}

// write puts the batches' shared, pre-encoded bytes on the wire in one writev.
func (t *wsTransport) write(batches []*batch) error {
	t.bufs = t.bufs[:0]
	for _, b := range batches {
		t.bufs = append(t.bufs, b.wsBytes())
	}
	return t.flush(time.Now().Add(t.writeTimeout))
}

func (t *wsTransport) ping() error { return t.writeControl(wsframe.OpPing, nil) }

func (t *wsTransport) pong(data []byte) error { return t.writeControl(wsframe.OpPong, data) }

func (t *wsTransport) closeWith(code int, reason string) {
	t.hdr = wsframe.AppendClose(t.hdr[:0], code, reason)
	t.bufs = append(t.bufs[:0], t.hdr)
	_ = t.flush(time.Now().Add(t.writeTimeout))
}

func (t *wsTransport) close() error { return t.ws.Close() }

func splitComma(v string) []string {
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func hostOnly(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

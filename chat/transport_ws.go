package chat

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// ServeWS upgrades a request to a chat WebSocket for the gig named by the
// route parameter "id" (r.PathValue("id")), and serves it until it closes.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request) {
	gig := r.PathValue("id")
	if gig == "" {
		http.Error(w, ErrNoGig.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "chat is restarting", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the request
	}
	t := &wsTransport{ws: ws, writeTimeout: h.cfg.WriteTimeout}
	c := newClient(h, gig, h.clientIP(r), t, true, true)
	if err := h.admit(c); err != nil {
		// Browsers cannot read a refused handshake, so refuse after it.
		code := codeUnavailable
		if err == ErrTooManyConns {
			code = codeTooManyConns
		}
		_ = t.write(encodeError(code, err.Error(), 0))
		t.closeWith(closeTryLater, code)
		_ = t.close()
		return
	}
	go c.writeLoop()
	h.readWS(c, ws)
	c.stop(false, closeGoingAway, "")
	<-c.done
}

// readWS reads frames until the connection fails or the client is stopped.
// Each frame is read through a limit so an oversized one costs at most
// MaxFrameBytes+1 bytes before the client is told and closed.
func (h *Hub) readWS(c *client, ws *websocket.Conn) {
	pongWait := 2 * h.cfg.PingInterval
	ws.SetReadLimit(1 << 20) // hard ceiling; the limit users see is MaxFrameBytes
	_ = ws.SetReadDeadline(time.Now().Add(pongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(pongWait))
	})
	buf := new(bytes.Buffer)
	for {
		mt, rd, err := ws.NextReader()
		if err != nil {
			return
		}
		_ = ws.SetReadDeadline(time.Now().Add(pongWait))
		buf.Reset()
		if _, err := buf.ReadFrom(io.LimitReader(rd, int64(h.cfg.MaxFrameBytes)+1)); err != nil {
			return
		}
		if buf.Len() > h.cfg.MaxFrameBytes {
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

type wsTransport struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
}

func (t *wsTransport) write(data []byte) error {
	_ = t.ws.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	return t.ws.WriteMessage(websocket.TextMessage, data)
}

func (t *wsTransport) ping() error {
	return t.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(t.writeTimeout))
}

func (t *wsTransport) closeWith(code int, reason string) {
	_ = t.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
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

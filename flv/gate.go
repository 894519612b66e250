package flv

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/httperr"
)

// passKillAfter is how long a viewer whose pass ended gets to finish (the
// WS close frame) before its connection is cut, so it is gone within 2 s
// even when a write is stuck.
const passKillAfter = 1500 * time.Millisecond

// closeTicketEnded is the WebSocket close code for a viewer whose ticket
// ended (4000-4999 are the application's); the reason is access.Code.
const closeTicketEnded = 4001

// credential is the ticket a player sent: ?ticket= (flv.js and mpegts.js
// cannot set headers), else Authorization: Bearer.
func credential(r *http.Request) string {
	if t := r.URL.Query().Get("ticket"); t != "" {
		return t
	}
	return access.BearerToken(r)
}

// admit asks the Gate whether the request may watch gigID; without a Gate
// every gig is open. On a refusal it has answered the request (before any
// WebSocket upgrade) and returns nil. The credential is never logged.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, gigID, screen string) *access.Pass {
	if h.cfg.Gate == nil {
		return access.Open()
	}
	pass, err := h.cfg.Gate.Admit(r.Context(), access.Request{GigID: gigID, Credential: credential(r), Kind: access.Media, Screen: screen})
	switch {
	case err == nil && pass != nil:
		return pass
	case access.Denied(err):
		h.ctr.refused.Add(1)
		httperr.Write(w, http.StatusUnauthorized, access.Code(err), access.Message(gigID, err))
	default:
		h.ctr.gateFailures.Add(1)
		if err == nil {
			err = errNilPass
		}
		h.log.Warn("flv ticket check failed", "gig", gigID, "err", err)
		w.Header().Set("Retry-After", "2")
		httperr.Write(w, http.StatusServiceUnavailable, "unavailable", "Could not check the ticket right now; try again in a moment.")
	}
	return nil
}

// passWatch ends a viewer when its pass ends (ticket revoked, or the
// ticket started playing elsewhere): at once after the write in progress,
// and by cutting the connection if the viewer is still there after
// passKillAfter. No goroutine waits for the pass: context.AfterFunc starts
// one only when it ends.
type passWatch struct {
	stopFn func() bool
	done   chan struct{}
	mu     sync.Mutex
	over   bool
}

func (h *Handler) watchPass(pass *access.Pass, v *viewer, out sink) *passWatch {
	pw := &passWatch{done: make(chan struct{})}
	pw.stopFn = context.AfterFunc(pass.Context(), func() {
		h.ctr.passEnded.Add(1)
		v.passEnded(pass.Err())
		t := time.NewTimer(passKillAfter)
		defer t.Stop()
		select {
		case <-pw.done:
			return
		case <-t.C:
		}
		pw.mu.Lock()
		defer pw.mu.Unlock()
		if !pw.over {
			out.kill() // stuck in a write
		}
	})
	return pw
}

// stop is called by the viewer's goroutine once it stopped writing, before
// it finishes the connection: from then on the watch never touches it.
func (pw *passWatch) stop() {
	pw.stopFn()
	pw.mu.Lock()
	pw.over = true
	pw.mu.Unlock()
	close(pw.done)
}

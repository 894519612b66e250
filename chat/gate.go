package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bookmygig/bookmygig/access"
)

// Error codes of ticketed gigs: the gate's refusals (access.Code) and the
// end of a ticket's pass.
const (
	codeTicketRequired = "ticket_required"
	codeInvalidTicket  = "invalid_ticket"
	codeTicketRevoked  = "ticket_revoked"
)

const (
	// closeTicket closes a connection whose ticket was refused or revoked.
	// It is an application code (4000-4999) so pages can tell it from a
	// network failure and stop reconnecting with the same ticket.
	closeTicket = 4001
	// maxCredentialLen bounds the ticket a join may carry; longer ones are
	// refused as invalid without asking the gate (tokens are ~70 bytes).
	maxCredentialLen = 256
)

// TicketUserID is the public chat user id of a ticket's holder: the same
// for every connection of the ticket, so a mute or ban holds across
// reconnects, devices and addresses, and derived one way, so it reveals
// neither the ticket id nor (never used here) the ticket token.
func TicketUserID(ticketID string) string {
	sum := sha256.Sum256([]byte("bmg-chat-ticket:" + ticketID))
	return "t_" + hex.EncodeToString(sum[:6])
}

// admitJoin checks a join's credentials: the manage token (Authorize, or
// the Gate when Authorize is not set) and, on a hub with a Gate, the
// ticket. It returns the pass to hold for the session (nil when there is
// none to hold) and whether the joiner is the creator. When ok is false the
// client has been told why, and closed if the gate refused it.
func (c *client) admitJoin(m clientMessage) (pass *access.Pass, creator, ok bool) {
	h := c.hub
	if m.Token != "" || m.Ticket != "" {
		if wait := h.fails.blocked(c.ip, time.Now()); wait > 0 {
			h.ctr.authLimited.Add(1)
			c.sendError(codeRateLimited, "too many refused tokens from your address, try again later", wait)
			c.stop(true, closePolicy, codeRateLimited)
			return nil, false, false
		}
	}
	if m.Token != "" {
		switch {
		case h.cfg.Authorize != nil:
			ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
			err := h.cfg.Authorize(ctx, c.gig, m.Token)
			cancel()
			if err != nil {
				c.refusedToken()
				return nil, false, false
			}
			// The creator always passes: no ticket to check or hold.
			return nil, true, true
		case h.cfg.Gate != nil:
			p, err := c.admit(m.Token)
			if err == nil && p.Creator {
				return p, true, true
			}
			if p != nil {
				p.Release()
			}
			if err != nil && !access.Denied(err) {
				c.gateFailed(err)
				return nil, false, false
			}
			c.refusedToken()
			return nil, false, false
		default:
			c.sendError(codeUnavailable, "moderation is not enabled on this server", 0)
			return nil, false, false
		}
	}
	if h.cfg.Gate == nil {
		return nil, false, true
	}
	p, err := c.admit(m.Ticket)
	switch {
	case access.Denied(err):
		h.ctr.ticketRefused.Add(1)
		if m.Ticket != "" {
			c.countFailure()
		}
		c.fail(access.Code(err), access.Message(c.gig, err), closeTicket)
		return nil, false, false
	case err != nil:
		c.gateFailed(err)
		return nil, false, false
	}
	return p, p.Creator, true
}

// refusedToken answers a wrong manage token. Each one counts against the
// connection and its address: the connection is closed after a few, and the
// address refused for a while (see authFails), so tokens cannot be guessed.
func (c *client) refusedToken() {
	// Counted before the client hears of it: a client that reconnects at
	// once must find the failure counted against its address.
	now := time.Now()
	c.countFailure()
	c.in.failedJoins++
	allowed, wait := c.in.limiter.allow(now)
	c.sendError(codeUnauthorized, "the manage token is not valid for this gig", 0)
	if c.in.failedJoins >= maxFailedJoinsPerConn || !allowed {
		c.hub.ctr.authLimited.Add(1)
		c.sendError(codeRateLimited, "too many refused tokens, try again later", max(wait, time.Second))
		c.stop(true, closePolicy, codeRateLimited)
	}
}

// countFailure counts a refused credential against the client's address.
func (c *client) countFailure() {
	c.hub.ctr.authFailed.Add(1)
	c.hub.fails.fail(c.ip, time.Now())
}

// admit asks the gate about a credential.
func (c *client) admit(credential string) (*access.Pass, error) {
	if len(credential) > maxCredentialLen {
		return nil, access.ErrInvalidTicket
	}
	h := c.hub
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
	defer cancel()
	p, err := h.cfg.Gate.Admit(ctx, access.Request{GigID: c.gig, Credential: credential, Kind: access.Chat})
	if err == nil && p == nil {
		p = access.Open()
	}
	return p, err
}

// gateFailed answers a failure of the store behind the gate: the client may
// try again later, so it is closed with "try again later".
func (c *client) gateFailed(err error) {
	c.hub.ctr.gateFailed.Add(1)
	c.hub.log.Warn("chat access check failed", "gig", c.gig, "err", err)
	c.fail(codeUnavailable, "the ticket check is unavailable, try again shortly", closeTryLater)
}

// holdPass keeps p for the session: when p ends (its ticket was revoked)
// the client is told and closed, and stop releases p. It reports false,
// having released p, when the client has stopped already.
func (c *client) holdPass(p *access.Pass) bool {
	c.gate.mu.Lock()
	defer c.gate.mu.Unlock()
	if c.stopped() {
		p.Release()
		return false
	}
	c.gate.pass = p
	c.gate.stop = context.AfterFunc(p.Context(), func() { c.passEnded(p) })
	return true
}

// passEnded closes the client of a pass that ended. A pass released by the
// client itself ends with context.Canceled: nothing to tell then.
func (c *client) passEnded(p *access.Pass) {
	err := p.Err()
	if errors.Is(err, context.Canceled) || c.stopped() {
		return
	}
	code, msg := access.Code(err), access.Message(c.gig, err)
	if code == "" {
		code, msg = codeTicketRevoked, "your ticket no longer admits you to this chat"
	}
	c.fail(code, msg, closeTicket)
}

// dropPass stops watching the held pass and releases it. Safe to call from
// any goroutine, any number of times.
func (c *client) dropPass() {
	c.gate.mu.Lock()
	p, stop := c.gate.pass, c.gate.stop
	c.gate.pass, c.gate.stop = nil, nil
	c.gate.mu.Unlock()
	if p == nil {
		return
	}
	stop()
	p.Release()
}

// holderName makes the name on a ticket a chat name: printable, at most
// maxNameRunes runes (tickets allow longer names than chat shows).
func holderName(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidiControl(r) {
			continue
		}
		if n == maxNameRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

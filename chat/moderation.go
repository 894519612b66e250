package chat

import (
	"context"
	"fmt"
	"time"
)

// DeleteMessage removes a message for everyone on every node, including
// from history. It does not check authorization: callers (the creator's
// chat connection, the API) do.
func (h *Hub) DeleteMessage(gigID, msgID string) error {
	if gigID == "" || !validID(msgID) {
		return fmt.Errorf("%w: message id %q", ErrInvalidArgument, msgID)
	}
	data := encode(deletedFrame{Type: "deleted", ID: msgID})
	if r := h.roomOf(gigID); r != nil {
		r.broadcast(frame{data: data})
	}
	env := encode(envelope{Node: h.cfg.NodeID, Frame: data})
	return h.push(func(ctx context.Context) error {
		if err := h.broker.DeleteHistory(ctx, gigID, msgID); err != nil {
			return err
		}
		return h.broker.Publish(ctx, gigID, env)
	})
}

// Mute stops a user from sending for d on every node; d = 0 unmutes.
func (h *Hub) Mute(gigID, userID string, d time.Duration) error {
	if gigID == "" || !validID(userID) || d < 0 {
		return fmt.Errorf("%w: mute %q for %s", ErrInvalidArgument, userID, d)
	}
	x := Restriction{Kind: RestrictMute, Target: userID, Until: time.Now().Add(d)}
	return h.moderate(gigID, x, moderationFrame{Type: "moderation", Action: "mute", User: userID, Seconds: int(d / time.Second)})
}

// Ban disconnects a user on every node; neither the user id nor its address
// can rejoin the gig's chat. A ticket holder (user id TicketUserID) is
// banned by ticket only: the ticket cannot rejoin from any address, and
// others behind the same address still can.
func (h *Hub) Ban(gigID, userID string) error {
	if gigID == "" || !validID(userID) {
		return fmt.Errorf("%w: ban %q", ErrInvalidArgument, userID)
	}
	x := Restriction{Kind: RestrictBan, Target: userID}
	return h.moderate(gigID, x, moderationFrame{Type: "moderation", Action: "ban", User: userID})
}

// SetSlowMode limits every user of the gig to one message per d; 0 turns it off.
func (h *Hub) SetSlowMode(gigID string, d time.Duration) error {
	if gigID == "" || d < 0 {
		return fmt.Errorf("%w: slow mode %s", ErrInvalidArgument, d)
	}
	x := Restriction{Kind: RestrictSlow, Seconds: int(d / time.Second)}
	return h.moderate(gigID, x, moderationFrame{Type: "moderation", Action: "slow", Seconds: x.Seconds})
}

// moderate applies x here, stores it for rooms opened later and tells the
// other nodes.
func (h *Hub) moderate(gigID string, x Restriction, f moderationFrame) error {
	data := encode(f)
	if r := h.roomOf(gigID); r != nil {
		h.applyLocal(r, x)
		r.broadcast(frame{data: data})
		if x.Kind == RestrictSlow {
			r.broadcast(frame{data: encode(systemFrame{Type: "system", Text: slowModeNotice(x.Seconds)})})
		}
	}
	return h.push(h.storeAndPublish(gigID, x, data))
}

func (h *Hub) storeAndPublish(gigID string, x Restriction, data []byte) func(ctx context.Context) error {
	env := encode(envelope{Node: h.cfg.NodeID, Frame: data, Mod: &x})
	return func(ctx context.Context) error {
		if err := h.broker.Restrict(ctx, gigID, x); err != nil {
			return err
		}
		return h.broker.Publish(ctx, gigID, env)
	}
}

// applyLocal enforces x in this node's room. A banned user connected here
// is disconnected, and its address is banned on every node, because only
// this node knows it. A ticket holder's address is not: the ticket is the
// identity, and other ticket holders may share the address.
func (h *Hub) applyLocal(r *room, x Restriction) {
	r.apply(x, time.Now())
	if x.Kind != RestrictBan {
		return
	}
	for _, c := range *r.members.Load() {
		if c.userID() != x.Target {
			continue
		}
		c.fail(codeBanned, "you are banned from this chat", closePolicy)
		if c.ticketed {
			continue
		}
		ipBan := Restriction{Kind: RestrictBanIP, Target: c.ipKey}
		r.apply(ipBan, time.Now())
		_ = h.push(h.storeAndPublish(r.gig, ipBan, nil))
	}
}

func (h *Hub) push(job func(ctx context.Context) error) error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	h.relay.push(job)
	return nil
}

func slowModeNotice(seconds int) string {
	if seconds <= 0 {
		return "slow mode is off"
	}
	return slowModeText(time.Duration(seconds) * time.Second)
}

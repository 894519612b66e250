package chat

import (
	"context"
	"fmt"
	"time"
)

// notSaved is told when a moderation action could not be stored for the
// other nodes (the broker stayed down for Config.RelayRetry); nil logs it.
type notSaved func(err error)

// DeleteMessage removes a message for everyone on every node, including
// from history. It does not check authorization: callers (the creator's
// chat connection, the API) do.
func (h *Hub) DeleteMessage(gigID, msgID string) error {
	return h.deleteMessage(gigID, msgID, nil)
}

func (h *Hub) deleteMessage(gigID, msgID string, onFail notSaved) error {
	if gigID == "" || !validID(msgID) {
		return fmt.Errorf("%w: message id %q", ErrInvalidArgument, msgID)
	}
	data := encode(deletedFrame{Type: "deleted", ID: msgID})
	if r := h.roomOf(gigID); r != nil {
		r.broadcast(frame{data: data})
	}
	env := encode(envelope{Node: h.cfg.NodeID, Frame: data})
	return h.push(&relayJob{
		what:   "delete",
		gaveUp: h.reportNotSaved(gigID, "delete", onFail),
		steps: []func(ctx context.Context) error{
			func(ctx context.Context) error { return h.broker.DeleteHistory(ctx, gigID, msgID) },
			func(ctx context.Context) error { return h.broker.Publish(ctx, gigID, env) },
		},
	})
}

// Mute stops a user from sending for d on every node; d = 0 unmutes.
func (h *Hub) Mute(gigID, userID string, d time.Duration) error {
	return h.mute(gigID, userID, d, nil)
}

func (h *Hub) mute(gigID, userID string, d time.Duration, onFail notSaved) error {
	if gigID == "" || !validID(userID) || d < 0 {
		return fmt.Errorf("%w: mute %q for %s", ErrInvalidArgument, userID, d)
	}
	x := Restriction{Kind: RestrictMute, Target: userID, Until: time.Now().Add(d)}
	return h.moderate(gigID, x, moderationFrame{Type: "moderation", Action: "mute", User: userID, Seconds: int(d / time.Second)}, onFail)
}

// Ban disconnects a user on every node, and the user id cannot rejoin the
// gig's chat. A guest's address is banned too, for Config.AddressBan and
// only for identities created from it after the ban (see applyLocal); a
// ticket holder (user id TicketUserID) is banned by ticket only.
func (h *Hub) Ban(gigID, userID string) error {
	return h.ban(gigID, userID, nil)
}

func (h *Hub) ban(gigID, userID string, onFail notSaved) error {
	if gigID == "" || !validID(userID) {
		return fmt.Errorf("%w: ban %q", ErrInvalidArgument, userID)
	}
	x := Restriction{Kind: RestrictBan, Target: userID}
	return h.moderate(gigID, x, moderationFrame{Type: "moderation", Action: "ban", User: userID}, onFail)
}

// Unban lifts a user's ban, and the address bans that came with it, on
// every node.
func (h *Hub) Unban(gigID, userID string) error {
	return h.unban(gigID, userID, nil)
}

func (h *Hub) unban(gigID, userID string, onFail notSaved) error {
	if gigID == "" || !validID(userID) {
		return fmt.Errorf("%w: unban %q", ErrInvalidArgument, userID)
	}
	// An Until in the past removes the ban (Restriction.removes).
	x := Restriction{Kind: RestrictBan, Target: userID, Until: time.Unix(1, 0)}
	data := encode(moderationFrame{Type: "moderation", Action: "unban", User: userID})
	if r := h.roomOf(gigID); r != nil {
		h.applyLocal(r, x)
		r.broadcast(frame{data: data})
	}
	env := encode(envelope{Node: h.cfg.NodeID, Frame: data, Mod: &x})
	return h.push(&relayJob{
		what:   "unban",
		gaveUp: h.reportNotSaved(gigID, "unban", onFail),
		steps: []func(ctx context.Context) error{
			func(ctx context.Context) error { return h.broker.Restrict(ctx, gigID, x) },
			// The address bans that came with it are looked up in the
			// store, so this node need not have seen them.
			func(ctx context.Context) error { return h.liftAddressBans(ctx, gigID, userID) },
			func(ctx context.Context) error { return h.broker.Publish(ctx, gigID, env) },
		},
	})
}

func (h *Hub) liftAddressBans(ctx context.Context, gigID, userID string) error {
	rs, err := h.broker.Restrictions(ctx, gigID)
	if err != nil {
		return err
	}
	for _, x := range rs {
		if x.Kind == RestrictBanIP && x.User == userID {
			lift := Restriction{Kind: RestrictBanIP, Target: x.Target, Until: time.Unix(1, 0)}
			if err := h.broker.Restrict(ctx, gigID, lift); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetSlowMode limits every user of the gig to one message per d; 0 turns it off.
func (h *Hub) SetSlowMode(gigID string, d time.Duration) error {
	return h.setSlowMode(gigID, d, nil)
}

func (h *Hub) setSlowMode(gigID string, d time.Duration, onFail notSaved) error {
	if gigID == "" || d < 0 {
		return fmt.Errorf("%w: slow mode %s", ErrInvalidArgument, d)
	}
	x := Restriction{Kind: RestrictSlow, Seconds: int(d / time.Second)}
	return h.moderate(gigID, x, moderationFrame{Type: "moderation", Action: "slow", Seconds: x.Seconds}, onFail)
}

// moderate applies x here, stores it for rooms opened later and tells the
// other nodes.
func (h *Hub) moderate(gigID string, x Restriction, f moderationFrame, onFail notSaved) error {
	data := encode(f)
	if r := h.roomOf(gigID); r != nil {
		h.applyLocal(r, x)
		r.broadcast(frame{data: data})
		if x.Kind == RestrictSlow {
			r.broadcast(frame{data: encode(systemFrame{Type: "system", Text: slowModeNotice(x.Seconds)})})
		}
	}
	return h.push(h.storeAndPublish(gigID, x, data, h.reportNotSaved(gigID, f.Action, onFail)))
}

func (h *Hub) storeAndPublish(gigID string, x Restriction, data []byte, gaveUp func(error)) *relayJob {
	env := encode(envelope{Node: h.cfg.NodeID, Frame: data, Mod: &x})
	return &relayJob{
		what:   "moderation",
		gaveUp: gaveUp,
		steps: []func(ctx context.Context) error{
			func(ctx context.Context) error { return h.broker.Restrict(ctx, gigID, x) },
			func(ctx context.Context) error { return h.broker.Publish(ctx, gigID, env) },
		},
	}
}

// reportNotSaved logs a moderation action the relay gave up and tells
// onFail (the creator's connection) when there is one.
func (h *Hub) reportNotSaved(gigID, action string, onFail notSaved) func(error) {
	return func(err error) {
		h.ctr.modNotSaved.Add(1)
		h.log.Warn("chat moderation not saved, it holds on this node only", "gig", gigID, "action", action, "err", err)
		if onFail != nil {
			onFail(err)
		}
	}
}

// applyLocal enforces x in this node's room. A banned guest connected here
// is disconnected and its address banned on every node, because only this
// node knows it: for Config.AddressBan, and only for identities created
// from the address after now, so the guest cannot come back by dropping its
// guest id while people who share the address (a household, a carrier's
// NAT) and chatted before keep their place. A ticket holder's address is
// not banned: the ticket is the identity.
func (h *Hub) applyLocal(r *room, x Restriction) {
	now := time.Now()
	r.apply(x, now)
	if x.Kind != RestrictBan || x.removes(now) {
		return
	}
	for _, c := range r.members.Load() {
		if c.userID() != x.Target {
			continue
		}
		c.fail(codeBanned, "you are banned from this chat", closePolicy)
		if c.ticketed || h.cfg.AddressBan < 0 {
			continue
		}
		ipBan := Restriction{Kind: RestrictBanIP, Target: c.ipKey, Since: now, Until: now.Add(h.cfg.AddressBan), User: x.Target}
		r.apply(ipBan, now)
		_ = h.push(h.storeAndPublish(r.gig, ipBan, nil, h.reportNotSaved(r.gig, "address ban", nil)))
	}
}

func (h *Hub) loadRestrictions(r *room) {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.BrokerTimeout)
	defer cancel()
	rs, err := h.broker.Restrictions(ctx, r.gig)
	if err != nil {
		h.brokerHealth.report(h.log, err)
		return
	}
	h.brokerHealth.ok(h.log)
	now := time.Now()
	for _, x := range rs {
		r.apply(x, now)
	}
}

func (h *Hub) push(j *relayJob) error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	h.relay.push(j)
	return nil
}

func slowModeNotice(seconds int) string {
	if seconds <= 0 {
		return "slow mode is off"
	}
	return slowModeText(time.Duration(seconds) * time.Second)
}

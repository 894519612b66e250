package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/api"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/store"
	"github.com/redis/go-redis/v9"
)

// keyShowEndChannel carries "end this gig's publish" to every node.
const keyShowEndChannel = "bmg:shows:end"

// showOpTimeout bounds the publish of an end request.
const showOpTimeout = 2 * time.Second

// showStore is what ending a show needs from the gig store.
type showStore interface {
	store.Reader
	store.StatusSetter
}

// endRequest is one message on keyShowEndChannel. It carries the gig id
// only, never a key.
type endRequest struct {
	GigID  string `json:"gig_id"`
	Reason string `json:"reason"`
}

var _ api.ShowEnder = (*showCtl)(nil)

// showCtl ends live shows on every node (the API's Deps.Shows): every node,
// this one included, gets the request, and the one streaming the gig kicks
// its publisher (media.Registry.Kick closes the RTMP connection or the WHIP
// session). On Redis the request goes over one pub/sub channel; on the
// embedded engine this node is every node.
//
// A request published while a node is cut off from Redis does not reach it
// (pub/sub keeps nothing); the API then still answers, and the key rotated
// for a leaked key keeps the hijacker from coming back once cut off.
type showCtl struct {
	reg *media.Registry
	st  showStore
	rdb *redis.Client // nil on the embedded engine
	log *slog.Logger

	ps        *redis.PubSub
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// newShowCtl subscribes to the end channel when rdb is set and waits (up to
// 2 s) until Redis confirms, so a node that is up never misses a request.
func newShowCtl(ctx context.Context, reg *media.Registry, st showStore, rdb *redis.Client, log *slog.Logger) (*showCtl, error) {
	c := &showCtl{reg: reg, st: st, rdb: rdb, log: log}
	if rdb == nil {
		return c, nil
	}
	// go-redis resubscribes by itself after a lost connection.
	c.ps = rdb.Subscribe(context.Background(), keyShowEndChannel)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.ps.Receive(wctx); err != nil {
		_ = c.ps.Close()
		return nil, fmt.Errorf("subscribe %s: %w", keyShowEndChannel, err)
	}
	msgs := c.ps.Channel()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for m := range msgs {
			var req endRequest
			if err := json.Unmarshal([]byte(m.Payload), &req); err != nil || req.GigID == "" {
				c.log.Warn("ignoring a malformed end-show request", "err", err)
				continue
			}
			c.kick(req)
		}
	}()
	return c, nil
}

// EndShow implements api.ShowEnder.
func (c *showCtl) EndShow(ctx context.Context, gigID, reason string) error {
	req := endRequest{GigID: gigID, Reason: reason}
	if c.rdb == nil {
		c.kick(req)
	} else {
		data, err := json.Marshal(req)
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, showOpTimeout)
		defer cancel()
		if err := c.rdb.Publish(pctx, keyShowEndChannel, data).Err(); err != nil {
			return fmt.Errorf("end show %s: %w: %v", gigID, store.ErrUnavailable, err)
		}
	}
	// The publishing node marks the gig ended when its stream ends; doing it
	// here as well lets the API answer with the ended gig.
	g, err := c.st.Get(ctx, gigID)
	if err != nil {
		return err
	}
	if g.Status != store.StatusLive {
		return nil
	}
	err = c.st.SetStatus(ctx, gigID, store.StatusEnded, time.Now())
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// kick ends this node's publish of the gig, if any (the registry logs it).
func (c *showCtl) kick(req endRequest) {
	c.reg.Kick(req.GigID, errors.New(req.Reason))
}

// close stops the subscription; idempotent. It does not close the client.
func (c *showCtl) close() {
	c.closeOnce.Do(func() {
		if c.ps != nil {
			_ = c.ps.Close()
		}
		c.wg.Wait()
	})
}

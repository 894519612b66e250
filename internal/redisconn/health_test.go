package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
)

// replyErr is a Redis error reply, as go-redis returns one.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

var _ redis.Error = replyErr("")

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"eof", io.EOF, true},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"timeout", context.DeadlineExceeded, true},
		{"loading", replyErr("LOADING Redis is loading the dataset in memory"), true},
		{"readonly", replyErr("READONLY You can't write against a read only replica."), true},
		{"masterdown", replyErr("MASTERDOWN Link with MASTER is down"), true},
		{"busy", replyErr("BUSY Redis is busy running a script"), true},
		{"tryagain", replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"clusterdown", replyErr("CLUSTERDOWN The cluster is down"), true},
		{"tx failed", redis.TxFailedErr, true},
		{"wrapped loading", fmt.Errorf("script: %w", replyErr("LOADING")), true},
		{"wrongtype", replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"script error", replyErr("ERR user_script:1: bad argument"), false},
		{"nil reply", redis.Nil, false},
		{"wrapped err", fmt.Errorf("script: %w", replyErr("ERR unknown command")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Fatalf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

var errTestUnavailable = errors.New("test store unavailable")

func TestHealthFail(t *testing.T) {
	h := NewHealth(errTestUnavailable, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if err := h.Fail(ctx, "get", nil); err != nil {
		t.Fatalf("nil: %v", err)
	}
	refused := replyErr("WRONGTYPE Operation against a key holding the wrong kind of value")
	if err := h.Fail(ctx, "get", refused); !errors.Is(err, refused) || errors.Is(err, errTestUnavailable) {
		t.Fatalf("refused: %v", err)
	}
	if err := h.Fail(ctx, "get", io.EOF); !errors.Is(err, errTestUnavailable) {
		t.Fatalf("eof: %v", err)
	}
	if !h.down.Load() {
		t.Fatal("not down after an outage")
	}
	if err := h.Fail(ctx, "get", nil); err != nil || h.down.Load() {
		t.Fatalf("back: %v, down %v", err, h.down.Load())
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.Fail(ended, "get", io.EOF); !errors.Is(err, context.Canceled) || errors.Is(err, errTestUnavailable) {
		t.Fatalf("caller gone: %v", err)
	}
}

package redisconn

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/redistest"
)

func TestStoreConfigWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   StoreConfig
		want StoreConfig
	}{
		{"zero", StoreConfig{}, StoreConfig{DialTimeout: DefaultDialTimeout, IOTimeout: DefaultIOTimeout, OpTimeout: DefaultOpTimeout, PoolTimeout: DefaultIOTimeout}},
		{"pool waits the I/O timeout", StoreConfig{IOTimeout: time.Second}, StoreConfig{DialTimeout: DefaultDialTimeout, IOTimeout: time.Second, OpTimeout: DefaultOpTimeout, PoolTimeout: time.Second}},
		{"set values stay", StoreConfig{URL: "redis://x:1", DialTimeout: 1, IOTimeout: 2, OpTimeout: 3, PoolTimeout: 4, PoolSize: 5}, StoreConfig{URL: "redis://x:1", DialTimeout: 1, IOTimeout: 2, OpTimeout: 3, PoolTimeout: 4, PoolSize: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConnect(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rdb, target, err := Connect(ctx, StoreConfig{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if target.Sentinel || target.WaitReplicas != 0 {
		t.Fatalf("target %+v", target)
	}
	opt := rdb.Options()
	if opt.MaxRetries > 0 || !opt.ContextTimeoutEnabled || opt.DialTimeout != DefaultDialTimeout ||
		opt.ReadTimeout != DefaultIOTimeout || opt.PoolTimeout != DefaultIOTimeout {
		t.Fatalf("options %+v", opt)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestConnectFails(t *testing.T) {
	ctx := context.Background()
	if _, _, err := Connect(ctx, StoreConfig{URL: "http://nope"}); !errors.Is(err, ErrURL) {
		t.Fatalf("bad url: %v, want ErrURL", err)
	}
	// Nothing listens there: the PING fails within the op timeout, and the
	// error is the PING's (not ErrURL) for the store to classify.
	dead := "redis://127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	start := time.Now()
	_, _, err := Connect(ctx, StoreConfig{URL: dead, OpTimeout: 300 * time.Millisecond})
	if err == nil || errors.Is(err, ErrURL) {
		t.Fatalf("dead redis: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("took %v", took)
	}
}

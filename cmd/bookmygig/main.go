// Command bookmygig is the BookMyGig live-broadcast server: creators publish
// over RTMP or WHIP, viewers watch over WebRTC (WHEP) or HTTP/WebSocket-FLV,
// and every gig has a realtime chat. One binary: with no --redis it runs on an
// embedded in-memory engine; with --redis it persists and scales across nodes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process globals, so tests can start the server.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bookmygig:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	log.Info("starting bookmygig", cfg.redacted()...)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := newApp(ctx, cfg, log)
	if err != nil {
		log.Error("start-up failed", "err", err)
		return 1
	}
	if err := a.serve(ctx); err != nil {
		log.Error("server failed", "err", err)
		a.shutdown()
		return 1
	}
	log.Info("shutting down")
	a.shutdown()
	log.Info("stopped")
	return 0
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

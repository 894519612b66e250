package ingest

import (
	"fmt"
	"time"
)

// Config configures the RTMP ingest server. Zero fields take the defaults
// documented on each.
type Config struct {
	// App is the RTMP application publishers must connect to. Default "live"
	// (OBS server rtmp://HOST/live, stream key = gig's secret key).
	App string
	// ReadTimeout is how long a connection may send nothing before it is
	// closed; it bounds how fast a dead publisher is detected. Default 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds every write to a client. Default 10 s.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the RTMP handshake. Default 5 s.
	HandshakeTimeout time.Duration
	// ResolveTimeout bounds the stream key lookup. Default 5 s.
	ResolveTimeout time.Duration
	// MaxConns caps concurrent RTMP connections. Default 256.
	MaxConns int
	// MaxMessageBytes caps one RTMP message (an FLV tag) and the chunk data
	// a client may have in flight without completing a message. Default 8 MiB.
	MaxMessageBytes int
}

func (c Config) withDefaults() (Config, error) {
	if c.App == "" {
		c.App = "live"
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.ResolveTimeout == 0 {
		c.ResolveTimeout = 5 * time.Second
	}
	if c.MaxConns == 0 {
		c.MaxConns = 256
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 8 << 20
	}
	if c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.HandshakeTimeout < 0 || c.ResolveTimeout < 0 {
		return c, fmt.Errorf("ingest config: negative timeout")
	}
	if c.MaxConns < 0 || c.MaxMessageBytes < 1024 {
		return c, fmt.Errorf("ingest config: MaxConns %d, MaxMessageBytes %d out of range", c.MaxConns, c.MaxMessageBytes)
	}
	return c, nil
}

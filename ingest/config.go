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
	// PublishTimeout is how long after accept a connection has to finish
	// the handshake and start publishing with a valid key; it is absolute,
	// so trickling bytes does not extend it. Default 5 s.
	PublishTimeout time.Duration
	// MaxConnsPerIP caps concurrent connections from one IPv4 address (or
	// one IPv6 /64); the next one is closed at accept, before the
	// handshake. Several gigs publishing from one studio are legitimate, so
	// keep it moderate. Default 8.
	MaxConnsPerIP int
	// PrePublishBytes caps the bytes read from a connection before its
	// publish is accepted (handshake included: 3,073 bytes; connect,
	// createStream and publish are a few hundred). Default 64 KiB; at
	// least 16 KiB.
	PrePublishBytes int
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
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = 8
	}
	if c.PrePublishBytes == 0 {
		c.PrePublishBytes = 64 << 10
	}
	if c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.HandshakeTimeout < 0 || c.ResolveTimeout < 0 || c.PublishTimeout < 0 {
		return c, fmt.Errorf("ingest config: negative timeout")
	}
	if c.MaxConns < 0 || c.MaxMessageBytes < 1024 {
		return c, fmt.Errorf("ingest config: MaxConns %d, MaxMessageBytes %d out of range", c.MaxConns, c.MaxMessageBytes)
	}
	if c.MaxConnsPerIP < 0 || c.PrePublishBytes < 16<<10 {
		return c, fmt.Errorf("ingest config: MaxConnsPerIP %d, PrePublishBytes %d out of range", c.MaxConnsPerIP, c.PrePublishBytes)
	}
	return c, nil
}

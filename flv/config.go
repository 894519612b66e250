package flv

import (
	"time"

	"github.com/bookmygig/bookmygig/access"
)

// Config configures the HTTP-FLV / WS-FLV handler. Zero fields take the
// documented defaults.
type Config struct {
	// AllowOrigin is sent as Access-Control-Allow-Origin and checked
	// against the Origin of WebSocket requests. Default "*".
	AllowOrigin string
	// QueueTags bounds each viewer's queue of tags (shared buffers, so this
	// costs 8 bytes per slot). A viewer whose queue fills skips to the next
	// keyframe. Default 512 (~6 s of 30 fps video + AAC).
	QueueTags int
	// StallTimeout drops a viewer whose connection accepts no bytes for this
	// long. Default 5 s.
	StallTimeout time.Duration
	// TrackWait is how long a request for a stream that just went live
	// waits for its sequence headers. Default 5 s.
	TrackWait time.Duration
	// GOPMaxBytes bounds the per-stream cache of tags from the last
	// keyframe that lets a new viewer start with a picture. Default 16 MiB.
	GOPMaxBytes int
	// Gate admits viewers (?ticket=, or Authorization: Bearer; optional
	// ?screen=) and ends their connections when their Pass ends. Nil:
	// every gig is open.
	Gate access.Gate
}

func (c Config) withDefaults() Config {
	if c.AllowOrigin == "" {
		c.AllowOrigin = "*"
	}
	if c.QueueTags <= 0 {
		c.QueueTags = 512
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 5 * time.Second
	}
	if c.TrackWait <= 0 {
		c.TrackWait = 5 * time.Second
	}
	if c.GOPMaxBytes <= 0 {
		c.GOPMaxBytes = 16 << 20
	}
	return c
}

package media

import "time"

// statsWindow is how far back bitrate and frame rate are averaged.
const statsWindow = 3 * time.Second

// VideoStats describes the video a publisher sends.
type VideoStats struct {
	Codec            string  `json:"codec"`
	Profile          string  `json:"profile,omitempty"`
	Level            string  `json:"level,omitempty"`
	Width            int     `json:"width,omitempty"`
	Height           int     `json:"height,omitempty"`
	FPS              float64 `json:"fps"`
	BitrateKbps      float64 `json:"bitrate_kbps"`
	KeyframeInterval float64 `json:"keyframe_interval_s"`
	BFrames          bool    `json:"b_frames"`
}

// AudioStats describes one audio track.
type AudioStats struct {
	Codec       string  `json:"codec"`
	SampleRate  int     `json:"sample_rate,omitempty"`
	Channels    int     `json:"channels,omitempty"`
	BitrateKbps float64 `json:"bitrate_kbps"`
	// Derived is true for a track the server transcoded for other players.
	Derived bool `json:"derived,omitempty"`
}

// Stats is a snapshot of a live stream's health: raw figures only. What
// they mean for the creator (B-frames, long GOPs) is said by the layer that
// shows them (api.StreamWarnings).
type Stats struct {
	GigID     string         `json:"gig_id"`
	Source    string         `json:"source"`
	StartedAt time.Time      `json:"started_at"`
	UptimeS   float64        `json:"uptime_s"`
	Video     *VideoStats    `json:"video,omitempty"`
	Audio     []AudioStats   `json:"audio"`
	Viewers   map[string]int `json:"viewers"`
}

type codecCounter struct {
	// buckets holds bytes and frames per wall-clock 100 ms slot.
	bytes  [32]int
	frames [32]int
	slot   [32]int64
}

func (c *codecCounter) add(n int, now time.Time) {
	s := now.UnixMilli() / 100
	i := int(s % int64(len(c.slot)))
	if c.slot[i] != s {
		c.slot[i], c.bytes[i], c.frames[i] = s, 0, 0
	}
	c.bytes[i] += n
	c.frames[i]++
}

// rates returns bits per second and frames per second over statsWindow.
func (c *codecCounter) rates(now time.Time, since time.Time) (bps, fps float64) {
	cur := now.UnixMilli() / 100
	slots := int64(statsWindow / (100 * time.Millisecond))
	var bytes, frames int
	for i := range c.slot {
		if c.slot[i] > cur-slots && c.slot[i] <= cur {
			bytes += c.bytes[i]
			frames += c.frames[i]
		}
	}
	window := statsWindow
	if age := now.Sub(since); age < window {
		window = age
	}
	if window < 500*time.Millisecond {
		window = 500 * time.Millisecond
	}
	return float64(bytes*8) / window.Seconds(), float64(frames) / window.Seconds()
}

type statsCollector struct {
	started     time.Time
	counters    map[Codec]*codecCounter
	bframes     bool
	lastKeyDTS  time.Duration
	hasKey      bool
	keyInterval time.Duration
}

func (s *statsCollector) init(now time.Time) {
	s.started = now
	s.counters = make(map[Codec]*codecCounter, 3)
}

// add is called with the stream locked.
func (s *statsCollector) add(f *Frame, now time.Time) {
	c := s.counters[f.Codec]
	if c == nil {
		c = &codecCounter{}
		s.counters[f.Codec] = c
	}
	c.add(len(f.Data), now)
	if f.Codec == CodecH264 && f.CTS != 0 {
		s.bframes = true
	}
	if f.Codec.IsVideo() && f.Keyframe {
		if s.hasKey && f.DTS > s.lastKeyDTS {
			s.keyInterval = f.DTS - s.lastKeyDTS
		}
		s.lastKeyDTS, s.hasKey = f.DTS, true
	}
}

// Stats returns a snapshot of the stream's health.
func (s *Stream) Stats() Stats {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		GigID:     s.cfg.GigID,
		Source:    s.cfg.Source,
		StartedAt: s.started,
		UptimeS:   now.Sub(s.started).Seconds(),
		Audio:     []AudioStats{},
		Viewers:   s.viewers.snapshot(),
	}
	for _, t := range s.tracks {
		var bps, fps float64
		if c := s.stats.counters[t.Codec]; c != nil {
			bps, fps = c.rates(now, s.started)
		}
		if t.Codec.IsVideo() {
			v := &VideoStats{
				Codec:            t.Codec.String(),
				FPS:              round1(fps),
				BitrateKbps:      round1(bps / 1000),
				KeyframeInterval: round1(s.stats.keyInterval.Seconds()),
				BFrames:          s.stats.bframes,
			}
			if h := t.H264; h != nil {
				v.Profile = ProfileName(h.ProfileIDC, h.ConstraintFlags)
				v.Level = LevelName(h.LevelIDC)
				v.Width, v.Height = h.Width, h.Height
			} else {
				v.Width, v.Height = t.Width, t.Height
			}
			st.Video = v
			continue
		}
		st.Audio = append(st.Audio, AudioStats{
			Codec:       t.Codec.String(),
			SampleRate:  t.SampleRate,
			Channels:    t.Channels,
			BitrateKbps: round1(bps / 1000),
			Derived:     t.Derived,
		})
	}
	return st
}

func round1(v float64) float64 {
	return float64(int64(v*10+0.5)) / 10
}

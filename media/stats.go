package media

import (
	"strconv"
	"sync"
	"time"
)

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

// Warning is a problem with the publisher's settings, in plain language,
// with the setting that fixes it.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Stats is a snapshot of a live stream's health.
type Stats struct {
	GigID     string         `json:"gig_id"`
	Source    string         `json:"source"`
	StartedAt time.Time      `json:"started_at"`
	UptimeS   float64        `json:"uptime_s"`
	Video     *VideoStats    `json:"video,omitempty"`
	Audio     []AudioStats   `json:"audio"`
	Viewers   map[string]int `json:"viewers"`
	Warnings  []Warning      `json:"warnings"`
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
		Warnings:  []Warning{},
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
	st.Warnings = warnings(st.Video)
	return st
}

func warnings(v *VideoStats) []Warning {
	out := []Warning{}
	if v == nil {
		return out
	}
	if v.BFrames {
		out = append(out, Warning{
			Code:    "b_frames",
			Message: "Your encoder sends B-frames. Browsers watching over WebRTC cannot play them smoothly, so those viewers are moved to the slower FLV player.",
			Fix:     "In OBS: Settings > Output > Output Mode: Advanced > Streaming, set \"B-frames\" to 0 (x264: add bframes=0 to x264 options).",
		})
	}
	if v.KeyframeInterval > 2.05 {
		out = append(out, Warning{
			Code:    "keyframe_interval",
			Message: "Keyframes arrive only every " + formatSeconds(v.KeyframeInterval) + ". Viewers who join or lose a packet wait that long for a clear picture.",
			Fix:     "In OBS: Settings > Output > Output Mode: Advanced > Streaming, set \"Keyframe Interval\" to 1 or 2 s.",
		})
	}
	return out
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}

func round1(v float64) float64 {
	return float64(int64(v*10+0.5)) / 10
}

// viewerCounts counts a stream's viewers per protocol.
type viewerCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (v *viewerCounts) add(proto string, d int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n == nil {
		v.n = make(map[string]int)
	}
	v.n[proto] += d
	if v.n[proto] <= 0 {
		delete(v.n, proto)
	}
}

func (v *viewerCounts) snapshot() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.n))
	for k, n := range v.n {
		out[k] = n
	}
	return out
}

// AddViewer counts one viewer of protocol proto ("webrtc", "flv", "ws-flv")
// until the returned release function is called (idempotent).
// A viewer hook set by the Registry (see Registry.OnViewer) is told too.
func (s *Stream) AddViewer(proto string) (release func()) {
	s.viewers.add(proto, 1)
	hookRelease := func() {}
	if hook := s.viewerHook.Load(); hook != nil {
		hookRelease = (*hook)(s.cfg.GigID, proto)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.viewers.add(proto, -1)
			hookRelease()
		})
	}
}

// Viewers returns the number of viewers of every protocol together.
func (s *Stream) Viewers() int {
	n := 0
	for _, c := range s.viewers.snapshot() {
		n += c
	}
	return n
}

// ProfileName names an H.264 profile_idc with its constraint flags.
func ProfileName(profile, constraints byte) string {
	switch profile {
	case 66:
		if constraints&0x40 != 0 {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4"
	default:
		return "profile " + strconv.Itoa(int(profile))
	}
}

// LevelName formats an H.264 level_idc ("3.1").
func LevelName(level byte) string {
	if level == 9 {
		return "1b"
	}
	return strconv.Itoa(int(level)/10) + "." + strconv.Itoa(int(level)%10)
}

package transcode

// Config configures a stream's audio transcoder (both directions).
type Config struct {
	// BitrateBps is the Opus target bitrate (constrained VBR). Default
	// 96000: transparent for stereo music, which gigs mostly are.
	BitrateBps int
	// Complexity is the Opus encoder complexity 1..10. Default 10; lower
	// saves CPU on crowded nodes.
	Complexity int
	// AACBitrateBps is the AAC target bitrate of the Opus -> AAC direction
	// (WHIP publishers, for FLV viewers). Default 128000.
	AACBitrateBps int
	// QueueFrames bounds the AAC frames waiting for the decoder; when it is
	// full, frames are dropped (and counted) rather than blocking the
	// publisher. Default 128 (about 2.7 s at 48 kHz).
	QueueFrames int
	// Meter, when set, adds up this transcoder's work with the others'.
	Meter *Meter
}

func (c *Config) setDefaults() {
	if c.BitrateBps <= 0 {
		c.BitrateBps = 96000
	}
	if c.Complexity <= 0 || c.Complexity > 10 {
		c.Complexity = 10
	}
	if c.AACBitrateBps <= 0 {
		c.AACBitrateBps = 128000
	}
	if c.QueueFrames <= 0 {
		c.QueueFrames = 128
	}
}

// Stats counts what a transcoder did.
type Stats struct {
	// FramesIn is the AAC frames received; Dropped the ones the full queue
	// refused; DecodeErrors the ones the decoder rejected.
	FramesIn     uint64 `json:"frames_in"`
	Dropped      uint64 `json:"dropped"`
	DecodeErrors uint64 `json:"decode_errors"`
	// FramesOut is the Opus frames written (20 ms each).
	FramesOut uint64 `json:"frames_out"`
	// Resyncs counts timestamp corrections (input gaps, drift > 40 ms).
	Resyncs uint64 `json:"resyncs"`
}

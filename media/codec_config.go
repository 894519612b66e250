package media

// H264Config is the parsed AVCDecoderConfigurationRecord of an H.264 track,
// plus what the SPS says about the picture.
type H264Config struct {
	// Record is the AVCDecoderConfigurationRecord as received (FLV sequence
	// header body), kept so FLV readers can replay it unchanged.
	Record []byte
	// SPS and PPS are the parameter sets, without start codes or lengths.
	SPS [][]byte
	PPS [][]byte
	// LengthSize is the NAL length prefix size declared by the record
	// (1, 2 or 4). Frames in a Stream are always normalized to 4.
	LengthSize int
	// ProfileIDC, ConstraintFlags and LevelIDC come from the record.
	ProfileIDC      byte
	ConstraintFlags byte
	LevelIDC        byte
	// Width and Height are the cropped picture size from the first SPS.
	Width  int
	Height int
}

// AACConfig is a parsed MPEG-4 AudioSpecificConfig.
type AACConfig struct {
	// Raw is the AudioSpecificConfig as received (FLV AAC sequence header
	// body). It can be longer than 2 bytes (explicit SBR/PS signalling).
	Raw []byte
	// ObjectType is the audio object type (2 = AAC-LC, 5 = SBR, 29 = PS).
	ObjectType int
	// SampleRate is the core sample rate in Hz.
	SampleRate int
	// Channels is the channel count (from the channel configuration).
	Channels int
}

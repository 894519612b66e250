package media

// gopCache keeps the frames of the current group of pictures: the last video
// keyframe and every frame (video and audio) written after it. A new reader
// replays it to decode a picture at once instead of waiting for the next
// keyframe, which an RTMP encoder cannot be asked for. It is the server's
// one GOP: readers that fan out build their catch-up from it (flv turns its
// frames into tags when a viewer joins, Stream.ReadGOP) or keep only a
// derived form keyed by its keyframe marks (the sfu's packet ring).
type gopCache struct {
	frames   []*Frame
	bytes    int
	maxBytes int
	// overflow is set when the current GOP outgrew maxBytes; caching resumes
	// at the next keyframe.
	overflow bool
}

func (g *gopCache) add(f *Frame, hasVideo bool) {
	if !hasVideo {
		return
	}
	if f.Codec.IsVideo() && f.Keyframe {
		g.reset()
		g.overflow = false
	}
	if g.overflow || len(g.frames) == 0 && !(f.Codec.IsVideo() && f.Keyframe) {
		return
	}
	if g.bytes+len(f.Data) > g.maxBytes {
		g.reset()
		g.overflow = true
		return
	}
	g.frames = append(g.frames, f)
	g.bytes += len(f.Data)
}

func (g *gopCache) reset() {
	// Drop references so old frames can be collected, keep the capacity.
	clear(g.frames)
	g.frames = g.frames[:0]
	g.bytes = 0
}

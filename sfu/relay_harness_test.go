package sfu_test

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/rtp/codecs"
)

const relayToken = "relay-secret-token"

// relayNode is one node of a test cluster: its own registry, SFU and HTTP
// server.
type relayNode struct {
	reg  *media.Registry
	sfu  *sfu.SFU
	whip *whip.Server
	srv  *httptest.Server
}

func newRelayNode(t testing.TB, cfg sfu.Config, wcfg ...whip.Config) *relayNode {
	t.Helper()
	log := testLogger(t)
	reg := media.NewRegistry(media.RegistryConfig{}, log)
	cfg.ICEAddr = "127.0.0.1:0"
	if cfg.RelayAuth == nil {
		cfg.RelayAuth = func(tok string) bool { return tok == relayToken }
	}
	// Edge viewers are on loopback too.
	loopbackClients(&cfg)
	s, err := sfu.New(cfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ws := startWHIP(t, s, cfg, append(wcfg, whip.Config{})[0], reg, log)
	mux := http.NewServeMux()
	mux.Handle("/whep/", s.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &relayNode{reg: reg, sfu: s, whip: ws, srv: srv}
}

// asRig lets rig's viewer helpers watch this node.
func (n *relayNode) asRig() *rig { return &rig{reg: n.reg, sfu: n.sfu, whip: n.whip, srv: n.srv} }

func (n *relayNode) whepURL(gig string) string { return n.srv.URL + "/whep/" + gig }

// testASC is AAC-LC, 48 kHz, stereo.
var testASC = []byte{0x11, 0x90}

// testAU is AAC access unit i of a fed stream: its index, then filler; every
// 25th is larger than one packet (fragmented).
func testAU(i int) []byte {
	n := 200 + i%150
	if i%25 == 7 {
		n = 2500
	}
	b := bytes.Repeat([]byte{byte(i)}, n)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// feeder writes the WHIP test clip's H.264 (as AVCC) and Opus, and
// synthetic AAC, into a stream in real time.
type feeder struct {
	st      *media.Stream
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	written atomic.Int64 // unix ns of the last video frame written
	// onVideo, when set, is told of each video frame's PTS before it is
	// written (latency benchmark).
	onVideo func(pts time.Duration, at time.Time)
}

// feedOrigin publishes a stream of gig on n, fed until the test ends.
func feedOrigin(t testing.TB, n *relayNode, gig string) *feeder {
	t.Helper()
	f := startFeeder(t, gig, nil)
	if err := n.reg.Publish(f.st); err != nil {
		t.Fatal(err)
	}
	return f
}

func startFeeder(t testing.TB, gig string, onVideo func(time.Duration, time.Time)) *feeder {
	t.Helper()
	clip := loadClip(t)
	st := media.NewStream(media.StreamConfig{GigID: gig, Source: "test"}, nil)
	cfg, aus := avccClip(t, clip)
	st.SetTrack(&media.Track{Codec: media.CodecH264, H264: cfg})
	st.SetTrack(&media.Track{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2})
	asc, err := media.ParseAudioSpecificConfig(testASC)
	if err != nil {
		t.Fatal(err)
	}
	st.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: asc, SampleRate: 48000, Channels: 2})
	f := &feeder{st: st, stop: make(chan struct{}), done: make(chan struct{}), onVideo: onVideo}
	go f.run(aus, clip.Audio)
	t.Cleanup(f.halt)
	return f
}

func (f *feeder) halt() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

type avccAU struct {
	data []byte
	key  bool
}

func (f *feeder) run(video []avccAU, opus [][]byte) {
	defer close(f.done)
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var vi, oi, ai int
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		el := time.Since(start)
		for ; time.Duration(vi)*time.Second/30 <= el; vi++ {
			au := video[vi%len(video)]
			dts := time.Duration(vi) * time.Second / 30
			if f.onVideo != nil {
				f.onVideo(dts, time.Now())
			}
			_ = f.st.WriteFrame(&media.Frame{Codec: media.CodecH264, DTS: dts, Keyframe: au.key, Data: au.data})
			f.written.Store(time.Now().UnixNano())
		}
		for ; time.Duration(oi)*20*time.Millisecond <= el; oi++ {
			_ = f.st.WriteFrame(&media.Frame{Codec: media.CodecOpus, DTS: time.Duration(oi) * 20 * time.Millisecond, Data: opus[oi%len(opus)]})
		}
		for ; time.Duration(ai)*1024*time.Second/48000 <= el; ai++ {
			_ = f.st.WriteFrame(&media.Frame{Codec: media.CodecAAC, DTS: time.Duration(ai) * 1024 * time.Second / 48000, Data: testAU(ai)})
		}
	}
}

// loadClip is the WHIP test clip (ffmpeg, once per binary).
func loadClip(t testing.TB) *whiptest.Clip {
	t.Helper()
	return whiptest.LoadClip(t)
}

// avccClip converts the clip's Annex-B access units to AVCC and builds the
// decoder config from its first SPS and PPS.
func avccClip(t testing.TB, c *whiptest.Clip) (*media.H264Config, []avccAU) {
	t.Helper()
	var sps, pps []byte
	out := make([]avccAU, 0, len(c.Video))
	for _, au := range c.Video {
		var b []byte
		for _, n := range bytes.Split(au.Data, []byte{0, 0, 0, 1}) {
			if len(n) == 0 || n[0]&0x1f == 9 {
				continue
			}
			switch n[0] & 0x1f {
			case 7:
				if sps == nil {
					sps = n
				}
			case 8:
				if pps == nil {
					pps = n
				}
			}
			b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
			b = append(b, n...)
		}
		out = append(out, avccAU{data: b, key: au.Key})
	}
	if sps == nil || pps == nil {
		t.Fatal("clip without SPS/PPS")
	}
	cfg, err := media.H264ConfigFromParamSets(sps, pps)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, out
}

// frameCounter is a media.Reader counting a stream's frames by codec and
// checking AAC access units against testAU.
type frameCounter struct {
	mu                     sync.Mutex
	h264, keys, opus, aac  int
	aacBad, aacBig         int
	firstBad               string
	aacTrack, aacTrackSeen bool
}

func (c *frameCounter) OnTrack(t *media.Track) {
	if t.Codec == media.CodecAAC {
		c.mu.Lock()
		c.aacTrackSeen = true
		c.aacTrack = t.AAC != nil && bytes.Equal(t.AAC.Raw, testASC)
		c.mu.Unlock()
	}
}

func (c *frameCounter) OnFrame(f *media.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch f.Codec {
	case media.CodecH264:
		c.h264++
		if f.Keyframe {
			c.keys++
		}
	case media.CodecOpus:
		c.opus++
	case media.CodecAAC:
		c.aac++
		if len(f.Data) < 4 {
			c.aacBad++
			return
		}
		want := testAU(int(binary.BigEndian.Uint32(f.Data)))
		if !bytes.Equal(f.Data, want) {
			c.aacBad++
			return
		}
		if len(f.Data) > 1200 {
			c.aacBig++
		}
	}
}

func (c *frameCounter) counts() (h264, keys, opus, aac, aacBad, aacBig int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h264, c.keys, c.opus, c.aac, c.aacBad, c.aacBig
}

// waitRelayLive waits for the gig's relayed stream on n with H.264, Opus
// and AAC tracks.
func waitRelayLive(t *testing.T, n *relayNode, gig string) *media.Stream {
	t.Helper()
	var st *media.Stream
	wheptest.WaitFor(t, 10*time.Second, "relayed stream with H.264, Opus and AAC", func() bool {
		s, ok := n.reg.Get(gig)
		if !ok || s.Closed() {
			return false
		}
		st = s
		return s.Track(media.CodecH264) != nil && s.Track(media.CodecOpus) != nil && s.Track(media.CodecAAC) != nil
	})
	return st
}

// keyframeAt returns the index of the first video packet that starts an
// access unit holding an IDR, or -1.
func keyframeAt(recs []rtpRecord, from int) int {
	var h codecs.H264Packet
	start := from
	var au []byte
	for i := from; i < len(recs); i++ {
		out, err := h.Unmarshal(recs[i].Payload)
		if err == nil {
			au = append(au, out...)
		}
		if recs[i].Marker {
			for _, nt := range wheptest.NALTypes(au) {
				if nt == 5 {
					return start
				}
			}
			au, start = au[:0], i+1
		}
	}
	return -1
}

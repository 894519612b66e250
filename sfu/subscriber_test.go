package sfu

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeWriter records what a down track writes and can stall like a full
// ICE-TCP connection.
type fakeWriter struct {
	mu      sync.Mutex
	hdrs    []rtp.Header
	payload [][]byte
	gate    chan struct{} // writes wait on it while non-nil
	entered chan struct{} // receives once per gated write
}

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	gate := w.gate
	w.mu.Unlock()
	if gate != nil {
		if w.entered != nil {
			w.entered <- struct{}{}
		}
		<-gate
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hdrs = append(w.hdrs, *h)
	w.payload = append(w.payload, payload)
	return len(payload), nil
}

func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *fakeWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.hdrs)
}

func (w *fakeWriter) countSSRC(ssrc uint32) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, h := range w.hdrs {
		if h.SSRC == ssrc {
			n++
		}
	}
	return n
}

var _ webrtc.TrackLocalWriter = (*fakeWriter)(nil)

func avcc(nalus ...[]byte) []byte {
	var out []byte
	for _, n := range nalus {
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
	}
	return out
}

func nalu(typ byte, size int) []byte {
	n := make([]byte, size)
	n[0] = 0x60 | typ
	for i := 1; i < size; i++ {
		n[i] = byte(i) | 1 // no start-code look-alikes
	}
	return n
}

// split gives an H.264 frame its NAL units, as a Stream does for frames
// written without them; tests that feed a broadcaster directly use it.
func split(f *media.Frame) *media.Frame {
	g, err := media.FrameFromAVCC(f.Data, 4)
	if err != nil || g == nil {
		panic(fmt.Sprintf("test frame: %v", err))
	}
	g.DTS, g.CTS = f.DTS, f.CTS
	return g
}

func testBroadcaster(minKeep int) *broadcaster {
	b := newBroadcaster(nil, minKeep, 1<<20, slog.New(slog.DiscardHandler))
	b.OnTrack(&media.Track{Codec: media.CodecH264, H264: &media.H264Config{SPS: [][]byte{nalu(7, 10)}, PPS: [][]byte{nalu(8, 4)}}})
	return b
}

func writeGOP(b *broadcaster, start time.Duration, pframes int) {
	b.OnFrame(split(&media.Frame{Codec: media.CodecH264, DTS: start, Keyframe: true, Data: avcc(nalu(9, 2), nalu(5, 3000))}))
	for i := 1; i <= pframes; i++ {
		b.OnFrame(split(&media.Frame{Codec: media.CodecH264, DTS: start + time.Duration(i)*33*time.Millisecond, Data: avcc(nalu(1, 200))}))
		b.OnFrame(&media.Frame{Codec: media.CodecOpus, DTS: start + time.Duration(i)*20*time.Millisecond, Data: []byte{0xfc, 1, 2}})
	}
}

func TestBroadcasterPacketizesOnce(t *testing.T) {
	b := testBroadcaster(16)
	writeGOP(b, 0, 2)
	n, _ := b.ring.stats()
	// Keyframe: STAP-A(SPS,PPS) + 3 FU-A; 2 P-frames; 2 Opus.
	if n != 8 {
		t.Fatalf("ring holds %d packets, want 8", n)
	}
	var got [8]*packet
	if k, _, _, _ := b.ring.read(0, got[:]); k != 8 {
		t.Fatalf("read %d", k)
	}
	if p := got[0]; !p.keyHead || p.payload[0]&0x1f != 24 || p.marker {
		t.Fatalf("first packet %+v, want keyframe head STAP-A without marker", p)
	}
	if !got[3].marker || got[3].ts != 0 {
		t.Fatalf("last keyframe packet %+v, want marker", got[3])
	}
	for _, p := range got {
		if p.payload[0]&0x1f == 9 {
			t.Fatal("AUD reached RTP")
		}
	}
	if got[4].ts != 33*90 || got[5].ts != 20*48 || !got[5].audio {
		t.Fatalf("timestamps %d (video) %d (audio)", got[4].ts, got[5].ts)
	}
}

func TestRingKeepsGOPAndNACKHistory(t *testing.T) {
	b := testBroadcaster(4)
	writeGOP(b, 0, 10)
	writeGOP(b, time.Second, 3)
	pos, waitKey := b.startPos()
	var p [1]*packet
	b.ring.read(pos, p[:])
	if waitKey || !p[0].keyHead || p[0].ts != 90000 {
		t.Fatalf("start %d %+v waitKey %v: want the second keyframe", pos, p[0], waitKey)
	}
	// The packets just before the keyframe are history, not GOP: kept
	// only as minKeep allows.
	n, _ := b.ring.stats()
	if n != 10 {
		t.Fatalf("ring holds %d packets, want the GOP's 10", n)
	}
	if b.ring.lookup(false, p[0].seq) != p[0] || b.ring.lookup(false, p[0].seq-100) != nil {
		t.Fatal("lookup by sequence number")
	}
}

func TestSlowViewerSkipsToNewestKeyframeWithContinuousSeq(t *testing.T) {
	b := testBroadcaster(8)
	writeGOP(b, 0, 5)
	w := &fakeWriter{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	d := newDownTrack(webrtc.RTPCodecTypeVideo, "s", 65530, 0) // wraps soon
	d.bind.Store(&trackBinding{ssrc: 7, pt: 102, w: w})
	a := newDownTrack(webrtc.RTPCodecTypeAudio, "s", 100, 0)
	a.bind.Store(&trackBinding{ssrc: 8, pt: 111, w: w})
	s := newSubscriber(b, d, a, 0, 1<<20)
	s.ctr = &counters{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	<-w.entered
	// The viewer is stuck in its first write while the stream moves on by
	// several GOPs: the others (here: the writer) never wait for it.
	for g := 1; g <= 4; g++ {
		writeGOP(b, time.Duration(g)*time.Second, 5)
	}
	w.mu.Lock()
	close(w.gate)
	w.gate = nil
	w.mu.Unlock()
	// The stalled packet, then the newest GOP's 4+5 video packets (and
	// only its freshest audio: cached audio is not replayed).
	waitUntil(t, func() bool { return w.countSSRC(7) == 10 })
	cancel()
	<-done
	if s.skips.Load() != 1 || s.ctr.skips.Load() != 1 {
		t.Fatalf("skips = %d, counted %d, want 1", s.skips.Load(), s.ctr.skips.Load())
	}
	w.mu.Lock()
	if n := uint64(len(w.hdrs)); s.ctr.packets.Load() != n {
		t.Errorf("packets counted %d, written %d", s.ctr.packets.Load(), n)
	}
	w.mu.Unlock()
	var video []rtp.Header
	var videoPayload [][]byte
	w.mu.Lock()
	for i, h := range w.hdrs {
		if h.SSRC == 7 {
			video = append(video, h)
			videoPayload = append(videoPayload, w.payload[i])
		}
	}
	w.mu.Unlock()
	var audioSeqs []uint16
	w.mu.Lock()
	for _, h := range w.hdrs {
		if h.SSRC == 8 {
			audioSeqs = append(audioSeqs, h.SequenceNumber)
		}
	}
	w.mu.Unlock()
	for i := 1; i < len(audioSeqs); i++ {
		if audioSeqs[i] != audioSeqs[i-1]+1 {
			t.Fatalf("audio seq %d after %d: skipped stale audio must not leave a gap", audioSeqs[i], audioSeqs[i-1])
		}
	}
	if video[0].SequenceNumber != 65530 {
		t.Fatalf("first seq %d, want 65530", video[0].SequenceNumber)
	}
	for i := 1; i < len(video); i++ {
		if video[i].SequenceNumber != video[i-1].SequenceNumber+1 {
			t.Fatalf("seq %d after %d", video[i].SequenceNumber, video[i-1].SequenceNumber)
		}
	}
	// After the stalled packet comes the newest keyframe (ts of GOP 4).
	if video[1].Timestamp != 4*90000 || videoPayload[1][0]&0x1f != 24 {
		t.Fatalf("after the stall: ts %d type %d, want the 4 s keyframe's STAP-A", video[1].Timestamp, videoPayload[1][0]&0x1f)
	}
	// NACKs map back through the new offset.
	last := video[len(video)-1]
	ss, ok := d.streamSeq(last.SequenceNumber)
	if !ok || b.ring.lookup(false, ss) == nil {
		t.Fatalf("NACK of the last packet (seq %d) does not map to the ring", last.SequenceNumber)
	}
	if _, ok := d.streamSeq(video[0].SequenceNumber); ok {
		t.Fatal("a packet sent before the skip maps through the new offset")
	}
	if _, ok := d.streamSeq(last.SequenceNumber + 1); ok {
		t.Fatal("a packet not yet sent maps")
	}
}

func TestViewerWaitsForKeyframeWhenNoneCached(t *testing.T) {
	b := testBroadcaster(4)
	// Only P-frames so far: no GOP to start from.
	b.OnFrame(split(&media.Frame{Codec: media.CodecH264, DTS: 0, Data: avcc(nalu(1, 200))}))
	w := &fakeWriter{}
	d := newDownTrack(webrtc.RTPCodecTypeVideo, "s", 1, 0)
	d.bind.Store(&trackBinding{ssrc: 7, pt: 102, w: w})
	s := newSubscriber(b, d, nil, 0, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	waitUntil(t, func() bool { return b.subs.Len() == 1 })
	b.OnFrame(split(&media.Frame{Codec: media.CodecH264, DTS: 33 * time.Millisecond, Data: avcc(nalu(1, 200))}))
	writeGOP(b, time.Second, 1)
	waitUntil(t, func() bool { return w.count() == 5 })
	cancel()
	<-done
	if w.payload[0][0]&0x1f != 24 || w.hdrs[0].Timestamp != 90000 {
		t.Fatalf("first packet type %d ts %d, want the keyframe", w.payload[0][0]&0x1f, w.hdrs[0].Timestamp)
	}
	if b.subs.Len() != 0 {
		t.Fatal("subscriber still registered after run returned")
	}
}

func TestPacingHoldsBackTheBurst(t *testing.T) {
	b := testBroadcaster(8)
	writeGOP(b, 0, 100) // ~3 KB keyframe + 100 x 200 B
	w := &fakeWriter{}
	d := newDownTrack(webrtc.RTPCodecTypeVideo, "s", 1, 0)
	d.bind.Store(&trackBinding{ssrc: 7, pt: 102, w: w})
	// 8 KB burst, then 80 kbit/s = 10 KB/s: the 23 KB GOP takes > 1 s.
	s := newSubscriber(b, d, nil, 80_000, 8<<10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	time.Sleep(300 * time.Millisecond)
	n := w.count()
	cancel()
	<-done
	// The keyframe at once, then 8 KB + 0.3 s x 10 KB/s = 11 KB: ~55
	// P-frames of the 104 packets.
	if n < 30 || n > 80 {
		t.Fatalf("%d packets after 300 ms, want the keyframe and a paced trickle (about 59 of 104)", n)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 3 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

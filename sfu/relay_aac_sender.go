package sfu

import (
	"bytes"
	"context"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"log/slog"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// aacQueue bounds the AAC frames waiting for a relay session's sender: a
// stalled edge loses audio, the stream's writer never waits.
const aacQueue = 64

// aacSender sends a stream's AAC frames to a relay session as RFC 3640
// RTP. It attaches a media.Reader to each stream the session watches; the
// reader only queues, the sender's goroutine packetizes and writes. Relay
// sessions are few, so it packetizes per session.
type aacSender struct {
	track *webrtc.TrackLocalStaticRTP
	cfg   *media.AACConfig
	rate  int64
	log   *slog.Logger
	// changed is called once when a watched stream's AAC config differs
	// from the negotiated one (the session must end).
	changed     func()
	changedOnce sync.Once
	items       chan aacItem

	// Sender goroutine state.
	seq      uint16
	started  bool
	rebase   bool
	tsOff    uint32
	lastTS   uint32
	lastWall time.Time
	payloads [][]byte
}

// aacItem is a frame, or (rebase) the start of another stream.
type aacItem struct {
	f      *media.Frame
	rebase bool
}

func newAACSender(track *webrtc.TrackLocalStaticRTP, cfg *media.AACConfig, changed func(), log *slog.Logger) *aacSender {
	return &aacSender{
		track:   track,
		cfg:     cfg,
		rate:    int64(cfg.SampleRate),
		log:     log,
		changed: changed,
		items:   make(chan aacItem, aacQueue),
		seq:     randomUint16(),
	}
}

// attach starts taking st's live AAC frames; the returned function stops.
func (a *aacSender) attach(st *media.Stream) func() {
	select {
	case a.items <- aacItem{rebase: true}:
	default:
	}
	detach, err := st.Attach(&aacReader{a: a}, false)
	if err != nil {
		return func() {}
	}
	return detach
}

// aacReader is the media.Reader of one watched stream.
type aacReader struct{ a *aacSender }

// OnTrack implements media.Reader.
func (r *aacReader) OnTrack(t *media.Track) {
	if t.Codec != media.CodecAAC || t.AAC == nil || bytes.Equal(t.AAC.Raw, r.a.cfg.Raw) {
		return
	}
	r.a.changedOnce.Do(func() {
		r.a.log.Info("stream's aac config changed, ending the relay session")
		r.a.changed()
	})
}

// OnFrame implements media.Reader.
func (r *aacReader) OnFrame(f *media.Frame) {
	if f.Codec != media.CodecAAC {
		return
	}
	select {
	case r.a.items <- aacItem{f: f}:
	default:
		// The session is stalled: drop rather than hold up the stream.
	}
}

// Several AUs go in one packet (RFC 3640 allows it): a relay session's
// AAC then costs the origin a third of the packets, for up to
// aacBundleWait more delay on audio that only FLV players get, and they
// buffer far more than that.
const (
	aacBundle     = 3
	aacBundleWait = 50 * time.Millisecond
)

// run sends queued frames until ctx ends.
func (a *aacSender) run(ctx context.Context) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []*media.Frame
	for {
		var it aacItem
		if len(batch) == 0 {
			select {
			case it = <-a.items:
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case it = <-a.items:
			case <-timer.C:
				a.send(&pkt, batch)
				batch = batch[:0]
				continue
			case <-ctx.Done():
				return
			}
		}
		if it.rebase {
			a.send(&pkt, batch)
			batch = batch[:0]
			a.rebase = true
			continue
		}
		if len(batch) > 0 && !a.follows(batch, it.f) {
			a.send(&pkt, batch)
			batch = batch[:0]
		}
		batch = append(batch, it.f)
		switch {
		case len(batch) >= aacBundle || len(it.f.Data) > rtc.AACFragment/aacBundle:
			a.send(&pkt, batch)
			batch = batch[:0]
		case len(batch) == 1:
			timer.Reset(aacBundleWait)
		}
	}
}

// follows reports whether f can share a packet with batch: the next AU in
// time (the receiver times the AUs of a packet one frame apart) and room
// in one packet.
func (a *aacSender) follows(batch []*media.Frame, f *media.Frame) bool {
	last := batch[len(batch)-1]
	step := time.Duration(rtc.AACFrameSamples) * time.Second / time.Duration(a.rate)
	if d := f.DTS - last.DTS; d < step-2*time.Millisecond || d > step+2*time.Millisecond {
		return false
	}
	size := 2 + 2*(len(batch)+1) + len(f.Data)
	for _, b := range batch {
		size += len(b.Data)
	}
	return size <= rtc.AACFragment
}

// send writes batch's AUs: together in one packet, or one AU fragmented.
func (a *aacSender) send(pkt *rtp.Packet, batch []*media.Frame) {
	if len(batch) == 0 {
		return
	}
	first := batch[0]
	ts := uint32(first.DTS.Nanoseconds() * a.rate / int64(time.Second))
	now := time.Now()
	switch {
	case !a.started:
		a.started = true
	case a.rebase:
		// Another stream, whose DTS starts over: continue the timestamps
		// by the wall-clock gap.
		gap := uint32(now.Sub(a.lastWall).Seconds() * float64(a.rate))
		a.tsOff = a.lastTS + max(gap, 1) - ts
	}
	a.rebase = false
	if len(batch) == 1 {
		a.payloads = rtc.PacketizeAAC(a.payloads[:0], first.Data)
	} else {
		aus := make([][]byte, len(batch))
		for i, f := range batch {
			aus[i] = f.Data
		}
		a.payloads = append(a.payloads[:0], rtc.PackAAC(aus))
	}
	for i, p := range a.payloads {
		pkt.SequenceNumber = a.seq
		pkt.Timestamp = ts + a.tsOff
		pkt.Marker = i == len(a.payloads)-1
		pkt.Payload = p
		a.seq++
		if err := a.track.WriteRTP(pkt); err != nil {
			a.log.Debug("write aac", "err", err)
		}
	}
	last := uint32(batch[len(batch)-1].DTS.Nanoseconds() * a.rate / int64(time.Second))
	a.lastTS, a.lastWall = last+a.tsOff, now
}

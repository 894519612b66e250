package sfu

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/internal/icelite"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one viewer's outgoing track. It is our own webrtc.TrackLocal
// (not TrackLocalStaticRTP) so the hot path writes the shared payload with a
// header that lives in the track and is rewritten in place: no per-packet
// allocation, no lock beyond SRTP's own.
//
// Sequence numbers are stream sequence + seqOff, timestamps stream timestamp
// + tsOff. seqOff changes only at a discontinuity (start, skip to a newer
// keyframe, and later a re-attach to a publisher's new stream), and always so
// that the viewer's sequence numbers stay continuous.
type downTrack struct {
	id       string
	streamID string
	kind     webrtc.RTPCodecType
	mime     string
	// clockRate converts media time to RTP time for sender reports.
	clockRate uint32

	bind atomic.Pointer[trackBinding]

	// Viewer-goroutine state.
	hdr     rtp.Header
	seqOff  uint16
	lastSeq uint16
	resync  bool
	retime  bool
	lastTS  uint32
	// lastWall is when the viewer's goroutine last wrote a batch (set by
	// the subscriber, once per batch rather than per packet).
	lastWall time.Time
	// tsOff is read by the sender-report ticker and the RTCP goroutine.
	tsOff atomic.Uint32

	// nackState packs seqOff, the first viewer seq sent with it and the
	// last viewer seq sent, so the RTCP goroutine can map a NACKed sequence
	// number back to the stream's without a lock.
	nackState atomic.Uint64

	rtxMu  sync.Mutex
	rtxHdr rtp.Header

	packets atomic.Uint32
	octets  atomic.Uint32
	rtx     atomic.Uint32

	// Receiver report figures, for stats and logs.
	fractionLost atomic.Uint32
	totalLost    atomic.Uint32
	jitter       atomic.Uint32
	rttMicros    atomic.Int64
	srSentMid    atomic.Uint32 // middle 32 bits of the last SR's NTP time
	srSentAt     atomic.Int64  // unix ns when it was sent
}

type trackBinding struct {
	ssrc uint32
	pt   uint8
	w    webrtc.TrackLocalWriter
}

var _ webrtc.TrackLocal = (*downTrack)(nil)

func newDownTrack(kind webrtc.RTPCodecType, streamID string, firstSeq uint16, tsOff uint32) *downTrack {
	d := &downTrack{streamID: streamID, kind: kind, resync: true, lastSeq: firstSeq - 1}
	d.tsOff.Store(tsOff)
	if kind == webrtc.RTPCodecTypeVideo {
		d.id, d.mime, d.clockRate = "video", webrtc.MimeTypeH264, 90000
	} else {
		d.id, d.mime, d.clockRate = "audio", webrtc.MimeTypeOpus, 48000
	}
	return d
}

// newVideoDownTrack is a video down track for a stream whose video codec
// is mime (H.264 from RTMP and most WHIP publishers, VP8 from some).
func newVideoDownTrack(mime, streamID string, firstSeq uint16, tsOff uint32) *downTrack {
	d := newDownTrack(webrtc.RTPCodecTypeVideo, streamID, firstSeq, tsOff)
	if mime != "" {
		d.mime = mime
	}
	return d
}

// Bind implements webrtc.TrackLocal: pion calls it once negotiation picked a
// codec; from then on packets can be written.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.mime) {
			d.bind.Store(&trackBinding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), w: ctx.WriteStream()})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("no %s codec negotiated: %w", d.mime, webrtc.ErrUnsupportedCodec)
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bind.Store(nil)
	return nil
}

// ID implements webrtc.TrackLocal.
func (d *downTrack) ID() string { return d.id }

// RID implements webrtc.TrackLocal.
func (d *downTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *downTrack) StreamID() string { return d.streamID }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.kind }

// write sends p to the viewer. Only the goroutine that owns the viewer's
// subscriber calls it (its own, or the stream's fan-out loop).
func (d *downTrack) write(p *packet) error {
	b := d.bind.Load()
	if b == nil {
		return nil
	}
	h := d.header(b, p)
	_, err := b.w.WriteRTP(h, p.payload)
	d.sent(h, p)
	return err
}

// writeFan queues p for an icelite viewer in the fan-out loop's batch.
func (d *downTrack) writeFan(f *rtc.Fanout, peer *icelite.Peer, dest *rtc.UDPDest, p *packet) error {
	b := d.bind.Load()
	if b == nil {
		return nil
	}
	h := d.header(b, p)
	err := f.WriteRTP(peer, dest, h, p.payload)
	d.sent(h, p)
	return err
}

// header is the viewer's RTP header for p.
func (d *downTrack) header(b *trackBinding, p *packet) *rtp.Header {
	if d.resync {
		d.seqOff = d.lastSeq + 1 - p.seq
		d.resync = false
		d.nackState.Store(packNack(d.seqOff, d.lastSeq+1, d.lastSeq))
	}
	if d.retime {
		d.retime = false
		var gap uint32
		if !d.lastWall.IsZero() {
			gap = uint32(time.Since(d.lastWall).Seconds() * float64(d.clockRate))
		}
		// At least one tick ahead, so the new stream's first frame is
		// never taken for the previous one's.
		d.tsOff.Store(d.lastTS + max(gap, 1) - p.ts)
	}
	h := &d.hdr
	h.Version = 2
	h.PayloadType = b.pt
	h.SSRC = b.ssrc
	h.SequenceNumber = p.seq + d.seqOff
	h.Timestamp = p.ts + d.tsOff.Load()
	h.Marker = p.marker
	return h
}

// sent records that p went out with header h.
func (d *downTrack) sent(h *rtp.Header, p *packet) {
	n := d.packets.Add(1)
	d.octets.Add(uint32(len(p.payload)))
	if int16(h.SequenceNumber-d.lastSeq) <= 0 && n > 1 {
		// A late packet (a WHIP publisher's retransmission forwarded
		// as it came): the viewer's numbering does not move back.
		return
	}
	d.lastSeq = h.SequenceNumber
	d.lastTS = h.Timestamp
	_, since, _ := unpackNack(d.nackState.Load())
	if d.lastSeq-since >= 0x4000 {
		// Keep the window far from wrapping; NACKs older than 16k
		// packets are useless anyway.
		since = d.lastSeq - 0x3fff
	}
	d.nackState.Store(packNack(d.seqOff, since, d.lastSeq))
}

// markResync makes the next packet continue the viewer's sequence numbers
// whatever its stream sequence number (after a skip).
func (d *downTrack) markResync() { d.resync = true }

// markRebind prepares the track for packets of another stream (the
// creator reconnected): sequence numbers and timestamps both continue.
func (d *downTrack) markRebind() { d.resync, d.retime = true, true }

// streamSeq maps a sequence number the viewer NACKed to the stream's, if it
// was sent with the current offset.
func (d *downTrack) streamSeq(viewerSeq uint16) (uint16, bool) {
	off, since, last := unpackNack(d.nackState.Load())
	if last+1 == since || viewerSeq-since > last-since {
		return 0, false
	}
	return viewerSeq - off, true
}

// retransmit resends p (a NACKed packet) with the viewer's header. It runs
// on the RTCP goroutine, hence its own header and lock.
func (d *downTrack) retransmit(p *packet, viewerSeq uint16) error {
	b := d.bind.Load()
	if b == nil {
		return nil
	}
	d.rtxMu.Lock()
	defer d.rtxMu.Unlock()
	h := &d.rtxHdr
	h.Version = 2
	h.PayloadType = b.pt
	h.SSRC = b.ssrc
	h.SequenceNumber = viewerSeq
	h.Timestamp = p.ts + d.tsOff.Load()
	h.Marker = p.marker
	_, err := b.w.WriteRTP(h, p.payload)
	d.rtx.Add(1)
	return err
}

func (d *downTrack) ssrc() (uint32, bool) {
	b := d.bind.Load()
	if b == nil {
		return 0, false
	}
	return b.ssrc, true
}

func packNack(off, since, last uint16) uint64 {
	return uint64(off)<<32 | uint64(since)<<16 | uint64(last)
}

func unpackNack(v uint64) (off, since, last uint16) {
	return uint16(v >> 32), uint16(v >> 16), uint16(v)
}

package sfu

import (
	"github.com/bookmygig/bookmygig/internal/rtc"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// maxNACKPerReport bounds the retransmissions one RTCP packet can trigger, so
// a broken or hostile receiver cannot make us resend a whole GOP.
const maxNACKPerReport = 256

// readRTCP reads a sender's RTCP until the PeerConnection closes: NACKs are
// answered from the shared ring, receiver reports update the track's stats,
// PLI/FIR go to a WHIP publisher (throttled per stream) and only count for
// RTMP (an encoder there cannot make a keyframe on demand; new viewers start
// from the cached one instead).
func (v *session) readRTCP(sender *webrtc.RTPSender, d *downTrack) {
	defer v.wg.Done()
	rtc.ReadRTCP(sender, func(p rtcp.Packet) { v.handleRTCP(p, d) })
}

// handleRTCP acts on one RTCP packet about track d.
func (v *session) handleRTCP(p rtcp.Packet, d *downTrack) {
	switch p := p.(type) {
	case *rtcp.TransportLayerNack:
		v.answerNACK(p, d)
	case *rtcp.ReceiverReport:
		v.onReceiverReport(p.Reports, d)
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		v.pli.Add(1)
		v.sfu.ctr.plis.Add(1)
		if sub := v.sub.Load(); sub != nil {
			sub.b.requestKeyframe()
		}
	}
}

func (v *session) answerNACK(n *rtcp.TransportLayerNack, d *downTrack) {
	b := v.sub.Load()
	if b == nil {
		return
	}
	sent := 0
	audio := d.kind == webrtc.RTPCodecTypeAudio
	for _, pair := range n.Nacks {
		pair.Range(func(seq uint16) bool {
			if sent >= maxNACKPerReport {
				return false
			}
			sent++
			ss, ok := d.streamSeq(seq)
			if !ok {
				return true
			}
			if p := b.b.ring.lookup(audio, ss); p != nil {
				_ = d.retransmit(p, seq)
				v.sfu.ctr.rtx.Add(1)
			}
			return true
		})
	}
	v.sfu.ctr.nacks.Add(uint64(sent))
}

func (v *session) onReceiverReport(reports []rtcp.ReceptionReport, d *downTrack) {
	ssrc, ok := d.ssrc()
	if !ok {
		return
	}
	for _, r := range reports {
		if r.SSRC != ssrc {
			continue
		}
		d.fractionLost.Store(uint32(r.FractionLost))
		d.totalLost.Store(r.TotalLost)
		d.jitter.Store(r.Jitter)
		if r.LastSenderReport != 0 && r.LastSenderReport == d.srSentMid.Load() {
			// RTT = now - LSR - DLSR, in 1/65536 s units (RFC 3550 6.4.1).
			now := ntpMiddle(time.Now())
			rtt := now - r.LastSenderReport - r.Delay
			if rtt < 1<<31 {
				d.rttMicros.Store(int64(rtt) * 1_000_000 >> 16)
			}
		}
	}
}

// sendReports writes a sender report for every bound track. The RTP time is
// the stream's media time now through the track's own offset, so audio and
// video share one clock and browsers can line them up (RFC 3550 6.4.1).
func (v *session) sendReports(now time.Time) {
	sub := v.sub.Load()
	if sub == nil {
		return
	}
	ntp := ntpTime(now)
	pkts := make([]rtcp.Packet, 0, 2)
	for _, d := range sub.tracks {
		if d == nil || d.packets.Load() == 0 {
			continue
		}
		ssrc, ok := d.ssrc()
		if !ok {
			continue
		}
		ts, ok := sub.b.rtpTime(d.kind == webrtc.RTPCodecTypeAudio, d.clockRate, now)
		if !ok {
			continue
		}
		rtpTime := ts + d.tsOff.Load()
		pkts = append(pkts, &rtcp.SenderReport{
			SSRC:        ssrc,
			NTPTime:     ntp,
			RTPTime:     rtpTime,
			PacketCount: d.packets.Load(),
			OctetCount:  d.octets.Load(),
		})
		d.srSentMid.Store(uint32(ntp >> 16))
		d.srSentAt.Store(now.UnixNano())
	}
	if len(pkts) > 0 {
		if v.peer != nil {
			_ = v.peer.WriteRTCP(pkts)
		} else {
			_ = v.pc.WriteRTCP(pkts)
		}
	}
}

// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

func ntpTime(t time.Time) uint64 {
	ns := uint64(t.UnixNano())
	sec := ns/1e9 + ntpEpochOffset
	frac := (ns % 1e9) << 32 / 1e9
	return sec<<32 | frac
}

func ntpMiddle(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

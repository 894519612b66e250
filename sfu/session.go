package sfu

import (
	"context"
	"errors"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/icelite"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/webrtc/v4"
)

// srInterval is how often sender reports go out; the first one follows the
// connection quickly so browsers can sync audio and video from the start.
const (
	srFirst    = 200 * time.Millisecond
	srInterval = time.Second
)

// session is one WHEP viewer: a PeerConnection with a video and (when offered)
// an audio down track, fed by a subscriber of the stream's broadcaster.
type session struct {
	// mediaClock: a relay session whose timestamps are the stream's media
	// time (relay_origin.go).
	mediaClock bool
	id         string
	gigID      string
	etag       string
	remoteIP   string
	// addr is remoteIP's slots.AddrKey: the session holds one of its
	// MaxSessionsPerIP slots from the POST until it ends.
	addr    string
	created time.Time
	log     *slog.Logger

	sfu *SFU
	// stream is the stream being watched; it changes when the creator
	// reconnects (rebind).
	stream atomic.Pointer[media.Stream]
	// rebind is signalled when a stream is published for the gig.
	rebind chan struct{}
	pc     *webrtc.PeerConnection
	// peer is the viewer's icelite transport (native_session.go); pc is
	// nil then.
	peer *icelite.Peer
	// remoteUfrag is a native session's offer ice-ufrag (PATCH checks).
	remoteUfrag string
	video       *downTrack
	audio       *downTrack
	// relay marks another node's pull (relay_origin.go): not a viewer.
	relay bool
	// aac sends the stream's AAC to a relay session that negotiated it.
	aac *aacSender

	sub       atomic.Pointer[subscriber]
	udp       atomic.Pointer[rtc.UDPDest]
	pli       atomic.Uint32
	connected chan struct{}
	connOnce  sync.Once

	// pass is the Gate's admission: when it ends the session closes
	// (watchPass), and closing releases it.
	pass *access.Pass

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    chan struct{}
}

// run waits for the connection, then streams until the session ends. It is
// started once the answer is sent.
func (v *session) run() {
	defer v.wg.Done()
	timer := time.NewTimer(v.sfu.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-v.connected:
	case <-timer.C:
		v.log.Info("viewer did not connect in time", "timeout", v.sfu.cfg.ConnectTimeout)
		go v.close("connect timeout")
		return
	case <-v.ctx.Done():
		return
	}
	var egress *rtc.UDPDest
	if bc, d := v.egress(); d != nil {
		defer bc.Release(d)
		egress = d
		v.udp.Store(d)
	}
	connectedAt := time.Now()
	v.wg.Add(1)
	go v.reportLoop()
	for {
		st := v.stream.Load()
		if b, err := v.sfu.broadcasterFor(st); err == nil {
			err := v.watch(st, b, egress, connectedAt)
			if v.ctx.Err() != nil {
				return
			}
			if !errors.Is(err, errStreamEnded) {
				v.log.Info("viewer transport failed", "err", err)
				v.sfu.ctr.dropped.Add(1)
				go v.close("write failed")
				return
			}
		}
		next := v.awaitStream(st)
		if next == nil {
			go v.close("stream ended")
			return
		}
		if why := v.incompatible(next); why != "" {
			v.log.Info("creator came back with other media", "why", why)
			go v.close("stream changed")
			return
		}
		v.log.Info("viewer continues on the creator's new stream", "source", next.Source())
		v.stream.Store(next)
		for _, d := range []*downTrack{v.video, v.audio} {
			if d != nil {
				d.markRebind()
			}
		}
	}
}

// watch streams st to the viewer until st ends (errStreamEnded), the
// session ends (nil) or the transport fails.
func (v *session) watch(st *media.Stream, b *broadcaster, egress *rtc.UDPDest, connectedAt time.Time) error {
	if !v.relay {
		release := st.AddViewer("webrtc")
		defer release()
	}
	if v.aac != nil {
		defer v.aac.attach(st)()
	}
	sub := newSubscriber(b, v.video, v.audio, v.sfu.cfg.CatchUpBitrate, v.sfu.cfg.CatchUpBurstBytes)
	sub.egress = egress
	sub.peer = v.peer
	sub.ctr = &v.sfu.ctr
	sub.onFirst = func() {
		v.log.Debug("first video packet sent", "after_connect", time.Since(connectedAt).Round(time.Microsecond),
			"after_offer", time.Since(v.created).Round(time.Millisecond))
	}
	if old := v.sub.Load(); old != nil {
		sub.skips.Add(old.skips.Load())
		sub.firstWrite.Store(true)
	}
	v.sub.Store(sub)
	return sub.run(v.ctx)
}

// awaitStream waits up to ReconnectGrace for a stream of the gig other than
// old; nil when none came (or the session ended).
func (v *session) awaitStream(old *media.Stream) *media.Stream {
	grace := v.sfu.cfg.ReconnectGrace
	if grace < 0 {
		return nil
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for {
		if st, ok := v.sfu.reg.Get(v.gigID); ok && st != old && !st.Closed() {
			return st
		}
		select {
		case <-v.rebind:
		case <-timer.C:
			return nil
		case <-v.ctx.Done():
			return nil
		}
	}
}

// incompatible says why the viewer's negotiated tracks cannot carry st.
func (v *session) incompatible(st *media.Stream) string {
	if want := videoMime(st); !strings.EqualFold(want, v.video.mime) {
		return "video " + v.video.mime + " -> " + want
	}
	if v.sfu.hasBFrames(st) {
		return "b-frames"
	}
	return ""
}

// egress returns the batching handle for the viewer's UDP path (nil over
// ICE-TCP or when the pair is not on our sockets).
func (v *session) egress() (*rtc.BatchConn, *rtc.UDPDest) {
	if v.peer != nil {
		return v.sfu.port.LiteDest(v.peer)
	}
	pair, err := v.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != webrtc.ICEProtocolUDP {
		return nil, nil
	}
	la, err1 := netip.ParseAddr(pair.Local.Address)
	ra, err2 := netip.ParseAddr(pair.Remote.Address)
	if err1 != nil || err2 != nil {
		return nil, nil
	}
	return v.sfu.port.Dest(netip.AddrPortFrom(la, pair.Local.Port), netip.AddrPortFrom(ra, pair.Remote.Port))
}

func (v *session) reportLoop() {
	defer v.wg.Done()
	t := time.NewTimer(srFirst)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			v.sendReports(now)
			t.Reset(srInterval)
		case <-v.ctx.Done():
			return
		}
	}
}

func (v *session) onConnectionState(s webrtc.PeerConnectionState) {
	v.log.Debug("connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		v.connOnce.Do(func() { close(v.connected) })
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		// Not inline: pion's callback goroutine must not wait on Close.
		go v.close("connection " + s.String())
	}
}

// watchPass closes the session when its pass ends (ticket revoked, or the
// ticket started playing on another screen). It is one of the session's
// goroutines: it also exits when the session ends any other way.
func (v *session) watchPass() {
	defer v.wg.Done()
	select {
	case <-v.pass.Done():
	case <-v.ctx.Done():
		return
	}
	err := v.pass.Err()
	if v.ctx.Err() != nil || err == nil {
		return
	}
	v.sfu.ctr.passEnded.Add(1)
	v.log.Info("webrtc viewer's ticket ended", "why", access.Code(err))
	// Not inline: close waits for this goroutine.
	go v.close("ticket ended: " + err.Error())
}

// close ends the session; idempotent. It returns after every goroutine of
// the session exited.
func (v *session) close(reason string) {
	v.closeOnce.Do(func() {
		if v.peer != nil {
			v.cancel()
			_ = v.peer.Close() // DTLS close_notify: the viewer knows it was ended
			v.wg.Wait()
		} else {
			rtc.ClosePeer(v.cancel, v.pc, &v.wg, v.log)
		}
		v.sfu.removeSession(v)
		v.pass.Release()
		attrs := []any{"reason", reason, "duration", time.Since(v.created).Round(time.Millisecond)}
		if sub := v.sub.Load(); sub != nil {
			attrs = append(attrs, "skips", sub.skips.Load(), "pli", v.pli.Load())
			if d := v.video; d != nil {
				attrs = append(attrs, "video_packets", d.packets.Load(), "retransmits", d.rtx.Load(),
					"total_lost", d.totalLost.Load(), "rtt_ms", d.rttMicros.Load()/1000)
			}
		}
		if d := v.udp.Load(); d != nil {
			sends, packets, gso := d.Stats()
			attrs = append(attrs, "udp_sends", sends, "udp_batched_packets", packets, "gso", gso)
		}
		v.log.Info("webrtc viewer left", attrs...)
		close(v.closed)
	})
	<-v.closed
}

// PeerConnection implements rtc.Session (nil for a native session).
func (v *session) PeerConnection() *webrtc.PeerConnection { return v.pc }

// RemoteUfrag implements rtc.LiteSession: the offer's ice-ufrag of a
// native session, "" for a pion one.
func (v *session) RemoteUfrag() string { return v.remoteUfrag }

// ETag implements rtc.Session.
func (v *session) ETag() string { return v.etag }

// Close implements rtc.Session.
func (v *session) Close(reason string) { v.close(reason) }

var _ rtc.Session = (*session)(nil)

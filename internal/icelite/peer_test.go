package icelite

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

func startMux(t testing.TB, cfg Config) *Mux {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Certificate.Certificate) == 0 {
		if cfg.Certificate, err = NewCertificate(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMux([]PacketConn{UDPConn{conn}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// received collects a viewer's packets by SSRC.
type received struct {
	mu   sync.Mutex
	pkts map[uint32][]rtp.Packet
}

func (r *received) add(tr *webrtc.TrackRemote, p *rtp.Packet, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := rtp.Packet{Header: p.Header, Payload: append([]byte(nil), p.Payload...)}
	r.pkts[uint32(tr.SSRC())] = append(r.pkts[uint32(tr.SSRC())], c)
}

func (r *received) count(ssrc uint32) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pkts[ssrc])
}

// connectViewer is a pion viewer (the one the SFU's tests use) connected
// to a Peer of m.
func connectViewer(t testing.TB, m *Mux, onRTCP func([]byte), opts whepclient.Options) (*whepclient.Viewer, *Peer, testAnswer) {
	t.Helper()
	v, err := whepclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.PC.Close() })
	p, a := buildAnswer(t, m, v.Offer, onRTCP)
	start := time.Now()
	if err := v.SetAnswer(a.sdp); err != nil {
		t.Fatalf("viewer refused the answer: %v\n%s", err, a.sdp)
	}
	defer func() { t.Logf("connected %v after the answer", time.Since(start)) }()
	select {
	case <-p.Connected():
	case <-p.Done():
		t.Fatalf("peer ended before connecting: %v", p.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("viewer did not connect in 10 s")
	}
	waitFor(t, "viewer's PeerConnection connected", 5*time.Second, func() bool {
		return v.PC.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	return v, p, a
}

func waitFor(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestViewerReceivesVideoAndAudio(t *testing.T) {
	m := startMux(t, Config{})
	got := &received{pkts: map[uint32][]rtp.Packet{}}
	_, p, a := connectViewer(t, m, nil, whepclient.Options{OnPacket: got.add})
	// 60 video packets (a keyframe's FU-A fragments would look alike to
	// the transport) and 30 Opus packets, interleaved.
	vh := rtp.Header{Version: 2, PayloadType: a.videoPT, SSRC: a.videoSSRC, SequenceNumber: 65500, Timestamp: 1000}
	ah := rtp.Header{Version: 2, PayloadType: a.audioPT, SSRC: a.audioSSRC, SequenceNumber: 7, Timestamp: 5000}
	payload := func(i, n int) []byte { return bytes.Repeat([]byte{byte(i)}, n) }
	for i := range 60 {
		vh.Marker = i%10 == 9
		if _, err := p.WriteRTP(&vh, payload(i, 1100)); err != nil {
			t.Fatal(err)
		}
		vh.SequenceNumber++ // wraps at 65536: the SRTP rollover counter follows
		if i%10 == 9 {
			vh.Timestamp += 3000
		}
		if i%2 == 0 {
			if _, err := p.WriteRTP(&ah, payload(i, 90)); err != nil {
				t.Fatal(err)
			}
			ah.SequenceNumber++
			ah.Timestamp += 960
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "all packets decrypted by the viewer", 5*time.Second, func() bool {
		return got.count(a.videoSSRC) == 60 && got.count(a.audioSSRC) == 30
	})
	got.mu.Lock()
	defer got.mu.Unlock()
	for i, pk := range got.pkts[a.videoSSRC] {
		if pk.SequenceNumber != uint16(65500+i) || !bytes.Equal(pk.Payload, payload(i, 1100)) {
			t.Fatalf("video packet %d: seq %d, payload %d bytes of %d", i, pk.SequenceNumber, len(pk.Payload), pk.Payload[0])
		}
	}
	for i, pk := range got.pkts[a.audioSSRC] {
		if pk.PayloadType != a.audioPT || !bytes.Equal(pk.Payload, payload(2*i, 90)) {
			t.Fatalf("audio packet %d: pt %d payload %v", i, pk.PayloadType, pk.Payload[:4])
		}
	}
}

func TestViewerRTCPReachesUs(t *testing.T) {
	m := startMux(t, Config{})
	var mu sync.Mutex
	var plis, rrs int
	onRTCP := func(b []byte) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication:
				plis++
			case *rtcp.ReceiverReport:
				rrs++
			}
		}
	}
	v, p, a := connectViewer(t, m, onRTCP, whepclient.Options{OnPacket: func(*webrtc.TrackRemote, *rtp.Packet, time.Time) {}})
	h := rtp.Header{Version: 2, PayloadType: a.videoPT, SSRC: a.videoSSRC, SequenceNumber: 1}
	for range 5 {
		if _, err := p.WriteRTP(&h, []byte{0x65, 1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
	}
	if err := v.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: a.videoSSRC}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the viewer's PLI and a receiver report", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return plis >= 1 && rrs >= 1
	})
	// Our sender report reaches the viewer's SRTCP too (no error is all
	// the transport can show; the viewer's stats see it).
	if err := p.WriteRTCP([]rtcp.Packet{&rtcp.SenderReport{SSRC: a.videoSSRC, NTPTime: 1 << 32, RTPTime: 90000, PacketCount: 5, OctetCount: 20}}); err != nil {
		t.Fatal(err)
	}
}

func TestCloseSaysGoodbyeToTheViewer(t *testing.T) {
	m := startMux(t, Config{})
	v, p, _ := connectViewer(t, m, nil, whepclient.Options{})
	closed := make(chan struct{})
	var once sync.Once
	v.PC.SCTP().Transport().OnStateChange(func(s webrtc.DTLSTransportState) {
		if s == webrtc.DTLSTransportStateClosed || s == webrtc.DTLSTransportStateFailed {
			once.Do(func() { close(closed) })
		}
	})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("viewer's DTLS did not end after our close_notify (state %s)", v.PC.SCTP().Transport().State())
	}
	if _, err := p.WriteRTP(&rtp.Header{Version: 2}, []byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
}

func TestViewerHangingUpEndsThePeer(t *testing.T) {
	m := startMux(t, Config{})
	v, p, _ := connectViewer(t, m, nil, whepclient.Options{})
	_ = v.PC.Close()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("peer still open 5 s after the viewer closed its PeerConnection")
	}
	waitFor(t, "peer forgotten by the mux", time.Second, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.byUfrag) == 0 && len(m.byAddr.Load()) == 0
	})
}

func TestWrongFingerprintNeverConnects(t *testing.T) {
	m := startMux(t, Config{ConnectTimeout: 4 * time.Second})
	v, err := whepclient.New(whepclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.PC.Close()
	other, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	// The offer names another certificate than the viewer presents: a
	// man in the middle of the signalling would look like this.
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(v.Offer); err != nil {
		t.Fatal(err)
	}
	_, _, named := offerICE(t, &offer)
	forged := strings.ReplaceAll(v.Offer, named, fingerprint(other.Certificate[0]))
	p, ans := buildAnswer(t, m, forged, nil)
	if err := v.SetAnswer(ans.sdp); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Connected():
		t.Fatal("connected with a certificate the offer did not name")
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("peer neither connected nor failed in 10 s")
	}
	if p.Err() == nil {
		t.Fatal("peer ended without an error")
	}
	t.Logf("peer ended: %v", p.Err())
}

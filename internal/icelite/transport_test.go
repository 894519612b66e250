package icelite

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/whepclient"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A viewer whose network allows only TCP connects over ICE-TCP, and gets
// its packets framed on that connection.
func TestViewerOverICETCP(t *testing.T) {
	m := startMux(t, Config{})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fallback := m.ServeTCP(ln)
	defer fallback.Close()
	got := &received{pkts: map[uint32][]rtp.Packet{}}
	v, err := whepclient.New(whepclient.Options{Networks: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}, OnPacket: got.add})
	if err != nil {
		t.Fatal(err)
	}
	defer v.PC.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, a := buildAnswer(t, m, v.Offer, nil, "9 1 tcp 1518280447 127.0.0.1 "+port+" typ host tcptype passive")
	if err := v.SetAnswer(a.sdp); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Connected():
	case <-time.After(10 * time.Second):
		t.Fatalf("no ICE-TCP connection in 10 s (peer err %v)", p.Err())
	}
	if !p.IsTCP() || p.Socket() != -1 {
		t.Fatalf("peer connected, but not over ICE-TCP (socket %d)", p.Socket())
	}
	waitFor(t, "viewer connected", 5*time.Second, func() bool { return v.PC.ConnectionState() == webrtc.PeerConnectionStateConnected })
	h := rtp.Header{Version: 2, PayloadType: a.videoPT, SSRC: a.videoSSRC, SequenceNumber: 9}
	for range 40 {
		if _, err := p.WriteRTP(&h, make([]byte, 1100)); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
	}
	waitFor(t, "40 packets over ICE-TCP", 5*time.Second, func() bool { return got.count(a.videoSSRC) == 40 })
}

// A TCP connection that is not one of our viewers' reaches the fallback
// listener with its first bytes intact.
func TestTCPFallbackGetsOtherConnections(t *testing.T) {
	m := startMux(t, Config{})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fallback := m.ServeTCP(ln)
	defer fallback.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	frame := []byte{0, 4, 0x16, 0xfe, 0xfd, 0x01, 0xaa}
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	acc := make(chan net.Conn, 1)
	go func() {
		fc, err := fallback.Accept()
		if err == nil {
			acc <- fc
		}
	}()
	select {
	case fc := <-acc:
		defer fc.Close()
		got := make([]byte, len(frame))
		if _, err := io.ReadFull(fc, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(frame) {
			t.Fatalf("fallback read %x, want %x", got, frame)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the fallback listener got no connection")
	}
}

// Packets for nobody go to the socket's fallback, which can answer on the
// same socket.
func TestUDPFallbackGetsUnclaimedPackets(t *testing.T) {
	m := startMux(t, Config{})
	fb := m.Fallback(0)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dtlsHello := []byte{0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	if _, err := c.WriteTo(dtlsHello, m.LocalAddrs()[0]); err != nil {
		t.Fatal(err)
	}
	_ = fb.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := fb.ReadFromAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != string(dtlsHello) || from.String() != c.LocalAddr().String() {
		t.Fatalf("fallback read %x from %s", buf[:n], from)
	}
	if _, err := fb.WriteToAddrPort([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err = c.Read(buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("reply through the fallback: %q %v", buf[:n], err)
	}
	// A deadline set while a read waits ends it.
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = fb.SetReadDeadline(time.Now())
	}()
	_ = fb.SetReadDeadline(time.Time{})
	if _, _, err := fb.ReadFromAddrPort(buf); err == nil {
		t.Fatal("read returned without a packet or deadline error")
	}
}

// With a socket per local address, the peer is reached on the socket its
// viewer's checks came in on.
func TestPeerUsesTheSocketItWasCheckedOn(t *testing.T) {
	var conns []PacketConn
	for range 2 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, UDPConn{c})
	}
	cert, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMux(conns, Config{Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got := &received{pkts: map[uint32][]rtp.Packet{}}
	_, p, a := connectViewer(t, m, nil, whepclient.Options{OnPacket: got.add})
	if p.Socket() < 0 {
		t.Fatal("no socket after connecting")
	}
	h := rtp.Header{Version: 2, PayloadType: a.videoPT, SSRC: a.videoSSRC, SequenceNumber: 1}
	for range 10 {
		if _, err := p.WriteRTP(&h, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
	}
	waitFor(t, "10 packets", 5*time.Second, func() bool { return got.count(a.videoSSRC) == 10 })
}

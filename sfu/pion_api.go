package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Codec lines we offer. Chromium offers H.264 42001f, 42e01f, 4d001f and
// f4001f, and pion needs an exact profile (profile_idc + constraint flags)
// match; answering 42e01f made Chromium decode x264 High-profile streams
// without drops (DESIGN.md). 42001f is there for clients that only offer
// plain Baseline.
const (
	fmtpH264CB   = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	fmtpH264B    = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"
	fmtpOpus     = "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"
	ptH264CB     = 102
	ptH264B      = 106
	ptOpus       = 111
	readBufBytes = 4 << 20
)

// videoFeedback: NACK is answered from the shared per-stream history; PLI and
// FIR go to a WHIP publisher (throttled), while an RTMP encoder cannot be
// asked for a keyframe, so for RTMP streams they only count. No transport-cc/REMB: one encoding
// goes to everybody, there is nothing to adapt per viewer.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
}

// newVP8MediaEngine is for viewers of a WHIP publisher that sends VP8. It
// is a separate engine because listing VP8 next to H.264 in answers made
// Chromium drop and freeze frames of the cached-GOP burst of H.264 streams.
func newVP8MediaEngine() (*webrtc.MediaEngine, error) {
	return newEngine([]webrtc.RTPCodecParameters{vp8Codec(videoFeedback)}, []webrtc.RTPCodecParameters{opusCodec(nil)})
}

// newMediaEngine is for viewers of H.264 streams.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	return newEngine(h264Codecs(videoFeedback), []webrtc.RTPCodecParameters{opusCodec(nil)})
}

// iceTransport is the shared ICE port: the UDP mux and the TCP listener.
type iceTransport struct {
	udpMux ice.UDPMux
	tcpMux ice.TCPMux
	tcpLn  net.Listener
	batch  []*batchConn
	port   int
}

func listenBatchConn(ip net.IP, port int) (*batchConn, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
	// Bigger socket buffers absorb keyframe bursts to many viewers.
	_ = conn.SetWriteBuffer(readBufBytes)
	_ = conn.SetReadBuffer(readBufBytes)
	return newBatchConn(conn), nil
}

// localIPs lists the addresses ICE listens on when no address is given: up
// interfaces, no link-local IPv6.
func localIPs(loopback bool) ([]net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || (ifc.Flags&net.FlagLoopback != 0 && !loopback) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.IsLinkLocalUnicast() || n.IP.IsLinkLocalMulticast() {
				continue
			}
			out = append(out, n.IP)
		}
	}
	return out, nil
}

// dest returns a batching handle for a viewer reached from local to remote,
// or nil when the pair does not use one of our UDP sockets.
func (t *iceTransport) dest(local, remote netip.AddrPort) (*batchConn, *udpDest) {
	for _, bc := range t.batch {
		if la, ok := bc.LocalAddr().(*net.UDPAddr); ok && la.AddrPort().Addr().Unmap() == local.Addr().Unmap() {
			return bc, bc.dest(remote)
		}
	}
	if len(t.batch) == 1 {
		// 1:1 NAT: the candidate shows the public address.
		return t.batch[0], t.batch[0].dest(remote)
	}
	return nil, nil
}

func (t *iceTransport) close() {
	if t.udpMux != nil {
		_ = t.udpMux.Close()
	}
	for _, c := range t.batch {
		_ = c.Close()
	}
	if t.tcpMux != nil {
		_ = t.tcpMux.Close()
	}
	if t.tcpLn != nil {
		_ = t.tcpLn.Close()
	}
}

func listenICE(cfg *Config, log *slog.Logger) (*iceTransport, error) {
	host, portStr, _ := net.SplitHostPort(cfg.ICEAddr)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("ice port %q: %w", portStr, ErrConfig)
	}
	if port != 0 {
		return listenICEPort(cfg, host, port, log)
	}
	// A free UDP port may be taken for TCP (an outgoing connection's
	// ephemeral port): try a few.
	for i := 0; ; i++ {
		t, err := listenICEPort(cfg, host, 0, log)
		if err == nil || i == 9 || !errors.Is(err, syscall.EADDRINUSE) {
			return t, err
		}
	}
}

func listenICEPort(cfg *Config, host string, port int, log *slog.Logger) (*iceTransport, error) {
	pl := pionLoggerFactory{log: log}
	t := &iceTransport{}
	ip := net.ParseIP(host)
	if ip != nil && !ip.IsUnspecified() {
		// One address: one socket and pion's default mux.
		bc, err := listenBatchConn(ip, port)
		if err != nil {
			return nil, fmt.Errorf("listen ice udp %s: %w", cfg.ICEAddr, err)
		}
		t.batch = append(t.batch, bc)
		t.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: pl.NewLogger("udpmux"), UDPConn: bc})
		t.port = bc.LocalAddr().(*net.UDPAddr).Port
	} else {
		// Every interface: one socket per address, so replies leave from
		// the address the viewer talked to (pion's MultiUDPMux, built here
		// so the sockets are our batching ones).
		if port == 0 {
			return nil, fmt.Errorf("ice addr %q: a port is required when listening on every interface: %w", cfg.ICEAddr, ErrConfig)
		}
		ips, err := localIPs(cfg.IncludeLoopback)
		if err != nil {
			return nil, fmt.Errorf("list interfaces: %w", err)
		}
		var muxes []ice.UDPMux
		for _, ip := range ips {
			bc, err := listenBatchConn(ip, port)
			if err != nil {
				t.close()
				return nil, fmt.Errorf("listen ice udp %s: %w", net.JoinHostPort(ip.String(), strconv.Itoa(port)), err)
			}
			t.batch = append(t.batch, bc)
			muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: pl.NewLogger("udpmux"), UDPConn: bc}))
		}
		if len(muxes) == 0 {
			return nil, fmt.Errorf("no usable network interface for ICE: %w", ErrConfig)
		}
		t.udpMux = ice.NewMultiUDPMuxDefault(muxes...)
		t.port = port
	}
	if !cfg.DisableICETCP {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(t.port)))
		if err != nil {
			t.close()
			return nil, fmt.Errorf("listen ice tcp on port %d: %w", t.port, err)
		}
		t.tcpLn = ln
		t.tcpMux = webrtc.NewICETCPMux(pl.NewLogger("tcpmux"), ln, 64)
	}
	return t, nil
}

// pionAPIs are the PeerConnection factories, all on the same ICE sockets.
type pionAPIs struct {
	viewers    *webrtc.API // H.264 + Opus
	vp8Viewers *webrtc.API // VP8 + Opus (WHIP publishers sending VP8)
	publishers *webrtc.API
	// pulls receives relayed streams from other nodes (relay_pull.go).
	pulls *webrtc.API
	// viewerSettings build the per-session APIs of relay sessions, whose
	// media engines depend on the stream's AAC track (relay_origin.go).
	viewerSettings webrtc.SettingEngine
}

func newAPI(cfg *Config, t *iceTransport, log *slog.Logger) (*pionAPIs, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	m8, err := newVP8MediaEngine()
	if err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLoggerFactory{log: log}}
	se.SetICEUDPMux(t.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if t.tcpMux != nil {
		se.SetICETCPMux(t.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	if cfg.IncludeLoopback {
		se.SetIncludeLoopbackCandidate(true)
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	// Notice a vanished viewer within seconds: its slot counts against
	// MaxViewers and its goroutine keeps encrypting.
	se.SetICETimeouts(4*time.Second, 8*time.Second, 2*time.Second)
	// No mDNS: the server's candidates are real addresses.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)

	// Interceptors, on purpose none of pion's defaults:
	//   - NACK: pion's responder keeps a copy of every packet per viewer
	//     track; ours answers from the per-stream ring (rtcp_viewer.go).
	//   - Sender reports: pion's derive the RTP/NTP mapping from send
	//     times, which puts the transcoder's delay between audio and video;
	//     ours map both tracks through the stream's media clock.
	//   - Receiver reports are read per sender (loss, jitter, RTT for stats).
	//   - No TWCC/REMB/GCC: one encoding for all, nothing to adapt, and the
	//     header extension would cost per packet and viewer.
	ir := &interceptor.Registry{}
	pub, err := newPublisherAPI(se)
	if err != nil {
		return nil, err
	}
	// Viewers' SRTP: every packet is encrypted once per viewer, so the
	// cipher is per-packet, per-viewer CPU. pion prefers AES-256-GCM (14
	// AES rounds); AES-128-GCM (10) costs about a third less with the same
	// one-pass AEAD, and the HMAC-SHA1 profile stays for peers without GCM.
	// Whichever side picks (the DTLS server), it picks from this list.
	// Relays between nodes over UDP only: a pull over ICE-TCP costs the
	// origin a TCP write per packet (no GSO batching) and adds
	// head-of-line waits. Nodes of a cluster reach each other over UDP.
	pse := se
	pse.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	pulls, err := newPullAPI(pse)
	if err != nil {
		return nil, err
	}
	vse := se
	vse.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	return &pionAPIs{
		viewers:        webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(vse), webrtc.WithInterceptorRegistry(ir)),
		vp8Viewers:     webrtc.NewAPI(webrtc.WithMediaEngine(m8), webrtc.WithSettingEngine(vse), webrtc.WithInterceptorRegistry(&interceptor.Registry{})),
		publishers:     pub,
		pulls:          pulls,
		viewerSettings: vse,
	}, nil
}

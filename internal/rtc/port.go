package rtc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bookmygig/bookmygig/internal/icelite"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// readBufBytes is the ICE sockets' buffer size: bigger socket buffers absorb
// keyframe bursts to many viewers.
const readBufBytes = 4 << 20

// PortConfig configures the single ICE port every WebRTC session of the
// node (WHEP viewers, WHIP publishers, relays both ways) shares.
type PortConfig struct {
	// ICEAddr is the single ICE port: a UDP mux serves every session on it
	// and, unless DisableICETCP, ICE-TCP listens on the same port number for
	// networks that block UDP. An empty host means every interface. Port 0
	// picks a free port (tests).
	ICEAddr string
	// DisableICETCP turns the ICE-TCP listener off.
	DisableICETCP bool
	// PublicIPs replace the host candidates' addresses (1:1 NAT).
	PublicIPs []string
	// PublicHost is resolved once in Listen; its addresses join PublicIPs.
	PublicHost string
	// IncludeLoopback offers loopback candidates. Implied when ICEAddr's
	// host is a loopback address.
	IncludeLoopback bool
	// PionOnly leaves the sockets to pion alone: no icelite viewer
	// transport (Lite is nil). For comparisons.
	PionOnly bool
}

// Port is the node's ICE port (the UDP mux on batching sockets and the
// ICE-TCP listener), the pion settings built on it, and the DTLS
// certificate all sessions share.
type Port struct {
	// lite owns the UDP sockets and the ICE-TCP listener and serves the
	// viewers given to it (icelite); pion's muxes get what it does not
	// claim. Nil with PortConfig.PionOnly.
	lite      *icelite.Mux
	publicIPs []string
	udpMux    ice.UDPMux
	tcpMux    ice.TCPMux
	tcpLn     net.Listener
	batch     []*BatchConn
	port      int
	se        webrtc.SettingEngine

	mu   sync.Mutex
	cert *webrtc.Certificate
}

// Listen validates cfg and opens the ICE port.
func Listen(cfg PortConfig, log *slog.Logger) (*Port, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, portStr, err := net.SplitHostPort(cfg.ICEAddr)
	if err != nil {
		return nil, fmt.Errorf("ice addr %q: %w", cfg.ICEAddr, ErrConfig)
	}
	if host != "" && net.ParseIP(host) == nil {
		return nil, fmt.Errorf("ice addr host %q is not an IP address: %w", host, ErrConfig)
	}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("public ip %q: %w", ip, ErrConfig)
		}
	}
	if host != "" && net.ParseIP(host).IsLoopback() {
		cfg.IncludeLoopback = true
	}
	if cfg.PublicHost != "" {
		ips, err := net.LookupIP(cfg.PublicHost)
		if err != nil {
			return nil, fmt.Errorf("resolve public host %s: %w", cfg.PublicHost, err)
		}
		for _, ip := range ips {
			cfg.PublicIPs = append(cfg.PublicIPs, ip.String())
		}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("ice port %q: %w", portStr, ErrConfig)
	}
	var t *Port
	if port != 0 {
		t, err = listenPort(&cfg, host, port, log)
	} else {
		// A free UDP port may be taken for TCP (an outgoing connection's
		// ephemeral port): try a few.
		for i := 0; ; i++ {
			t, err = listenPort(&cfg, host, 0, log)
			if err == nil || i == 9 || !errors.Is(err, syscall.EADDRINUSE) {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	t.se = settingEngine(&cfg, t, log)
	t.publicIPs = cfg.PublicIPs
	log.Info("webrtc ready", "ice_port", t.port, "ice_tcp", t.tcpMux != nil, "public_ips", cfg.PublicIPs)
	return t, nil
}

func listenBatchConn(ip net.IP, port int) (*BatchConn, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
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

func listenPort(cfg *PortConfig, host string, port int, log *slog.Logger) (*Port, error) {
	pl := LoggerFactory{log: log}
	t := &Port{}
	ip := net.ParseIP(host)
	if ip != nil && !ip.IsUnspecified() {
		// One address: one socket and pion's default mux.
		bc, err := listenBatchConn(ip, port)
		if err != nil {
			return nil, fmt.Errorf("listen ice udp %s: %w", cfg.ICEAddr, err)
		}
		t.batch = append(t.batch, bc)
		t.port = bc.LocalAddr().(*net.UDPAddr).Port
	} else {
		// Every interface: one socket per address, so replies leave from
		// the address the peer talked to (pion's MultiUDPMux, built here
		// so the sockets are our batching ones).
		if port == 0 {
			return nil, fmt.Errorf("ice addr %q: a port is required when listening on every interface: %w", cfg.ICEAddr, ErrConfig)
		}
		ips, err := localIPs(cfg.IncludeLoopback)
		if err != nil {
			return nil, fmt.Errorf("list interfaces: %w", err)
		}
		for _, ip := range ips {
			bc, err := listenBatchConn(ip, port)
			if err != nil {
				t.Close()
				return nil, fmt.Errorf("listen ice udp %s: %w", net.JoinHostPort(ip.String(), strconv.Itoa(port)), err)
			}
			t.batch = append(t.batch, bc)
		}
		if len(t.batch) == 0 {
			return nil, fmt.Errorf("no usable network interface for ICE: %w", ErrConfig)
		}
		t.port = port
	}
	// icelite reads the sockets and pion's muxes read what it does not
	// claim (PionOnly: pion reads them directly).
	if !cfg.PionOnly {
		cert, err := icelite.NewCertificate()
		if err != nil {
			t.Close()
			return nil, err
		}
		conns := make([]icelite.PacketConn, len(t.batch))
		for i, bc := range t.batch {
			conns[i] = bc
		}
		// Consent as pion's viewers lose it: failed 8 s after the
		// viewer's checks stop.
		if t.lite, err = icelite.NewMux(conns, icelite.Config{Certificate: cert, Log: log, ConsentTimeout: 8 * time.Second}); err != nil {
			t.Close()
			return nil, err
		}
	}
	var muxes []ice.UDPMux
	for i, bc := range t.batch {
		var conn net.PacketConn = bc
		if t.lite != nil {
			conn = t.lite.Fallback(i)
		}
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: pl.NewLogger("udpmux"), UDPConn: conn}))
	}
	if len(muxes) == 1 {
		t.udpMux = muxes[0]
	} else {
		t.udpMux = ice.NewMultiUDPMuxDefault(muxes...)
	}
	if !cfg.DisableICETCP {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(t.port)))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("listen ice tcp on port %d: %w", t.port, err)
		}
		t.tcpLn = ln
		var tcpLn net.Listener = ln
		if t.lite != nil {
			// icelite takes its viewers' connections; pion's TCP mux
			// accepts the others.
			tcpLn = t.lite.ServeTCP(ln)
		}
		t.tcpMux = webrtc.NewICETCPMux(pl.NewLogger("tcpmux"), tcpLn, 64)
	}
	return t, nil
}

// settingEngine is the pion settings of every API on the port.
func settingEngine(cfg *PortConfig, t *Port, log *slog.Logger) webrtc.SettingEngine {
	se := webrtc.SettingEngine{LoggerFactory: LoggerFactory{log: log}}
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
	// Notice a vanished peer within seconds: a viewer's slot counts against
	// MaxViewers and its goroutine keeps encrypting.
	se.SetICETimeouts(4*time.Second, 8*time.Second, 2*time.Second)
	// No mDNS: the server's candidates are real addresses.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

// Port returns the UDP (and TCP) port number.
func (t *Port) Port() int { return t.port }

// SettingEngine returns (a copy of) the pion settings every API on the port
// starts from; callers narrow it (network types, SRTP profiles).
func (t *Port) SettingEngine() webrtc.SettingEngine { return t.se }

// Certificate returns the DTLS certificate all sessions share. Generating
// one per PeerConnection (pion's default) costs milliseconds of CPU at every
// join; the fingerprint identifies the server, not the peer. It is renewed
// a week before it expires.
func (t *Port) Certificate() (webrtc.Certificate, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cert != nil && time.Until(t.cert.Expires()) > 7*24*time.Hour {
		return *t.cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("dtls key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("dtls certificate: %w", err)
	}
	t.cert = cert
	return *cert, nil
}

// NewPeerConnection makes a PeerConnection of api with the shared
// certificate.
func (t *Port) NewPeerConnection(api *webrtc.API) (*webrtc.PeerConnection, error) {
	cert, err := t.Certificate()
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	return pc, nil
}

// Dest returns a batching handle for a peer reached from local to remote,
// or nil when the pair does not use one of our UDP sockets.
func (t *Port) Dest(local, remote netip.AddrPort) (*BatchConn, *UDPDest) {
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

// Close releases the port.
func (t *Port) Close() {
	// pion's muxes first: they read through icelite's fallbacks and would
	// log the closed sockets as errors.
	if t.udpMux != nil {
		_ = t.udpMux.Close()
	}
	if t.tcpMux != nil {
		_ = t.tcpMux.Close()
	}
	if t.lite != nil {
		_ = t.lite.Close()
	}
	for _, c := range t.batch {
		_ = c.Close()
	}
	if t.tcpLn != nil {
		_ = t.tcpLn.Close()
	}
}

// Lite is the port's own viewer transport (nil with PortConfig.PionOnly).
func (t *Port) Lite() *icelite.Mux { return t.lite }

// LiteDest returns the batching handle for an icelite peer (nil over
// ICE-TCP or before its first check).
func (t *Port) LiteDest(p *icelite.Peer) (*BatchConn, *UDPDest) {
	i := p.Socket()
	if i < 0 || i >= len(t.batch) {
		return nil, nil
	}
	bc := t.batch[i]
	return bc, bc.dest(p.RemoteAddr())
}

// LiteCandidates are an icelite answer's candidate lines: each socket's
// address (or the public addresses, behind 1:1 NAT) on UDP, then ICE-TCP
// passive on the same port, then end-of-candidates.
func (t *Port) LiteCandidates() string {
	hosts := t.publicIPs
	if len(hosts) == 0 {
		for _, a := range t.lite.LocalAddrs() {
			h, _, _ := net.SplitHostPort(a.String())
			hosts = append(hosts, h)
		}
	}
	port := strconv.Itoa(t.port)
	var b strings.Builder
	n := 0
	for _, proto := range []string{"udp", "tcp"} {
		if proto == "tcp" && t.tcpLn == nil {
			continue
		}
		for i, h := range hosts {
			n++
			// RFC 8445 section 5.1.2.1: host type preference (126),
			// UDP before TCP, in listing order.
			local := 65535 - i
			if proto == "tcp" {
				local -= 1024
			}
			fmt.Fprintf(&b, "a=candidate:%d 1 %s %d %s %s typ host", n, proto, 126<<24|local<<8|255, h, port)
			if proto == "tcp" {
				b.WriteString(" tcptype passive")
			}
			b.WriteString("\r\n")
		}
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

// Command floor measures what this machine's kernel charges a server for
// the fan-out patterns of the FLV and WebRTC benchmarks, with as little Go
// as possible on top: no media code, no per-viewer goroutine, no pion. It is
// the lower bound any implementation on this machine pays for the same
// bytes, writes and packets, and it is what the CPU goals of the fan-out
// benchmarks are weighed against.
//
//	floor -mode tcp -n 1000    one 11.4 KB write per reader per video frame
//	                           (30/s), as the FLV fan-out writes: ~2.7 Mbit/s
//	floor -mode udp -n 200     per viewer and second: 30 frames of 2 slices,
//	                           each slice 4 x 1200 + 1 x 400 bytes encrypted
//	                           with AES-128-GCM (as SRTP) and sent in one
//	                           UDP_SEGMENT (GSO) sendmsg, plus 50 audio
//	                           packets of 160 bytes sent one by one
//
// The sender runs on CPU 0 with GOMAXPROCS 1; the readers are a child
// process (this binary with -role recv) on CPU 1 when taskset exists. CPU is
// getrusage(RUSAGE_SELF) of the sender over the window, per reader-second.
// On loopback the sender is also billed for the readers' kernel receive
// processing; steering it elsewhere (RPS on lo, BENCH_RX_STEER=1 in
// bench/floor.sh) shows the send side alone.
package main

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/bookmygig/bookmygig/internal/benchproc"
)

func main() {
	mode := flag.String("mode", "tcp", "tcp (FLV pattern) or udp (WebRTC pattern)")
	role := flag.String("role", "send", "send, or recv (the child process)")
	n := flag.Int("n", 0, "readers (default 1000 for tcp, 200 for udp)")
	dur := flag.Duration("duration", 10*time.Second, "measured window")
	addr := flag.String("addr", "", "recv role: the sender's TCP address")
	gro := flag.Bool("gro", true, "udp: the viewers read with UDP GRO, as bench/whepload's do")
	flag.Parse()
	if *n == 0 {
		*n = map[string]int{"tcp": 1000, "udp": 200}[*mode]
	}
	var err error
	switch {
	case *role == "recv" && *mode == "tcp":
		err = recvTCP(*addr, *n)
	case *role == "recv" && *mode == "udp":
		err = recvUDP(*n, *gro)
	case *mode == "tcp":
		err = sendTCP(*n, *dur)
	case *mode == "udp":
		err = sendUDP(*n, *dur, *gro)
	default:
		err = fmt.Errorf("unknown -mode %q or -role %q", *mode, *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// child starts this binary as the readers, on CPU 1 when it can, and
// returns its stdout (the child prints what the sender needs, then "ready",
// then at the end its counts).
func child(args ...string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	prefix, err := benchproc.Pin()
	if err != nil {
		fmt.Printf("floor: sender not pinned (%v)\n", err)
	} else {
		fmt.Println("floor: sender on CPU 0 with GOMAXPROCS 1, readers on CPU 1")
	}
	argv := append(prefix, append([]string{self}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, bufio.NewScanner(out), in, nil
}

// report prints the CPU per reader-second over the window.
func report(name string, n int, win time.Duration, u0, s0 time.Duration, writes, bytes uint64, delivered string) {
	u1, s1 := benchproc.CPU()
	vs := float64(n) * win.Seconds()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / vs }
	fmt.Printf("floor %s: N=%d, %.1f sends and %.0f KB per reader-second: %.3f ms CPU per reader-second (user %.3f, sys %.3f); %s\n",
		name, n, float64(writes)/vs, float64(bytes)/1024/vs, ms(u1-u0+s1-s0), ms(u1-u0), ms(s1-s0), delivered)
}

// tcpWrite is the FLV fan-out's write: one video frame with its audio.
const tcpWrite = 11400

func sendTCP(n int, win time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	cmd, out, in, err := child("-mode", "tcp", "-role", "recv", "-n", strconv.Itoa(n), "-addr", ln.Addr().String())
	if err != nil {
		return err
	}
	conns := make([]syscall.RawConn, 0, n)
	for len(conns) < n {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			return err
		}
		conns = append(conns, rc)
	}
	buf := make([]byte, tcpWrite)
	var writes, bytes, short uint64
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	frame := func() {
		for _, rc := range conns {
			_ = rc.Write(func(fd uintptr) bool {
				m, err := syscall.Write(int(fd), buf)
				writes++
				if m > 0 {
					bytes += uint64(m)
				}
				if err != nil || m < len(buf) {
					short++
				}
				return true
			})
		}
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		<-tick.C
		frame()
	}
	writes, bytes, short = 0, 0, 0
	u0, s0 := benchproc.CPU()
	start := time.Now()
	for time.Since(start) < win {
		<-tick.C
		frame()
	}
	elapsed := time.Since(start)
	delivered := fmt.Sprintf("%d writes the socket did not take whole", short)
	report("tcp (FLV pattern)", n, elapsed, u0, s0, writes, bytes, delivered)
	in.Close()
	for out.Scan() {
		fmt.Println("floor: readers:", out.Text())
	}
	return cmd.Wait()
}

func recvTCP(addr string, n int) error {
	var got atomic.Uint64
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		go func() {
			b := make([]byte, 64<<10)
			for {
				m, err := c.Read(b)
				got.Add(uint64(m))
				if err != nil {
					return
				}
			}
		}()
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // the sender closes stdin at the end
	fmt.Printf("%d readers received %.1f MB\n", n, float64(got.Load())/1e6)
	return nil
}

// The WebRTC pattern: per viewer, a video frame is 2 slices of these
// packets (x264 zerolatency's sliced threads), audio one packet per 20 ms.
var slicePackets = []int{1200, 1200, 1200, 1200, 400}

const (
	audioPacket = 160
	rtpHeader   = 12
	udpSegment  = 103 // UDP_SEGMENT from linux/udp.h
	udpGRO      = 104 // UDP_GRO
)

func sendUDP(n int, win time.Duration, gro bool) error {
	cmd, out, in, err := child("-mode", "udp", "-role", "recv", "-n", strconv.Itoa(n), "-gro="+strconv.FormatBool(gro))
	if err != nil {
		return err
	}
	var dests []netip.AddrPort
	for len(dests) < n && out.Scan() {
		p, err := strconv.Atoi(out.Text())
		if err != nil {
			return fmt.Errorf("child: %q", out.Text())
		}
		dests = append(dests, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p)))
	}
	if len(dests) < n {
		return errors.New("child did not open its sockets")
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	_ = conn.SetWriteBuffer(4 << 20)
	block, _ := aes.NewCipher(make([]byte, 16))
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	plain := make([]byte, 1500)
	gso := make([]byte, 0, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(2))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = syscall.IPPROTO_UDP, udpSegment
	h.SetLen(syscall.CmsgLen(2))
	var sends, packets, bytes uint64
	var seq uint32
	// seal appends one "SRTP" packet: a 12-byte header (the AAD) and the
	// encrypted payload with its 16-byte tag, as AES-128-GCM SRTP does.
	seal := func(dst []byte, payload int) []byte {
		seq++
		binary.BigEndian.PutUint32(nonce[8:], seq)
		hdr := plain[:rtpHeader]
		binary.BigEndian.PutUint32(hdr[4:], seq)
		dst = append(dst, hdr...)
		return gcm.Seal(dst, nonce, plain[rtpHeader:rtpHeader+payload], hdr)
	}
	var fanout []time.Duration
	var frameNo int
	video := func() {
		// Every 120th frame (4 s GOP) is a keyframe, 3 times the size, as
		// in the benchmarks' 2.5 Mbit/s x264 clip (31 KB against 10.6 KB).
		reps := 1
		if frameNo%120 == 0 {
			reps = 3
		}
		frameNo++
		t0 := time.Now()
		defer func() { fanout = append(fanout, time.Since(t0)) }()
		for _, d := range dests {
			for range 2 {
				gso = gso[:0]
				for range reps {
					for _, p := range slicePackets[:len(slicePackets)-1] {
						gso = seal(gso, p)
					}
				}
				gso = seal(gso, slicePackets[len(slicePackets)-1])
				binary.NativeEndian.PutUint16(oob[syscall.CmsgLen(0):], uint16(rtpHeader+slicePackets[0]+gcm.Overhead()))
				if _, _, err := conn.WriteMsgUDPAddrPort(gso, oob, d); err != nil {
					fmt.Fprintln(os.Stderr, "floor: send:", err)
				}
				sends++
				packets += uint64(reps*(len(slicePackets)-1) + 1)
				bytes += uint64(len(gso))
			}
		}
	}
	audio := func() {
		for _, d := range dests {
			gso = seal(gso[:0], audioPacket)
			_, _ = conn.WriteToUDPAddrPort(gso, d)
			sends++
			packets++
			bytes += uint64(len(gso))
		}
	}
	// Frames every 33.3 ms, audio every 20 ms, on one 10 ms tick.
	run := func(d time.Duration) time.Duration {
		start := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var frames, audios int
		for time.Since(start) < d {
			<-tick.C
			el := time.Since(start)
			for ; frames < int(el*30/time.Second); frames++ {
				video()
			}
			for ; audios < int(el*50/time.Second); audios++ {
				audio()
			}
		}
		return time.Since(start)
	}
	run(time.Second)
	sends, packets, bytes, fanout = 0, 0, 0, fanout[:0]
	u0, s0 := benchproc.CPU()
	elapsed := run(win)
	vs := float64(n) * elapsed.Seconds()
	report(fmt.Sprintf("udp (WebRTC pattern, AES-128-GCM + GSO, viewers' GRO %v)", gro), n, elapsed, u0, s0, sends, bytes,
		fmt.Sprintf("%.0f packets per viewer-second", float64(packets)/vs))
	slices.Sort(fanout)
	q := func(p float64) float64 { return float64(fanout[int(p*float64(len(fanout)-1))].Microseconds()) / 1000 }
	fmt.Printf("floor udp: one video frame to all %d viewers takes p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d frames): the last viewer's added latency\n",
		n, q(0.5), q(0.99), q(1), len(fanout))
	in.Close()
	for out.Scan() {
		fmt.Println("floor: viewers:", out.Text())
	}
	return cmd.Wait()
}

// segments is how many packets a datagram of n bytes holds, from its
// UDP_GRO control message (1 without one).
func segments(n int, oob []byte) int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 1
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.IPPROTO_UDP && m.Header.Type == udpGRO && len(m.Data) >= 4 {
			if seg := int(binary.NativeEndian.Uint32(m.Data)); seg > 0 {
				return (n + seg - 1) / seg
			}
		}
	}
	return 1
}

func recvUDP(n int, gro bool) error {
	var got atomic.Uint64
	ports := make([]string, 0, n)
	for range n {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		_ = c.SetReadBuffer(1 << 20)
		if gro {
			// As bench/whepload's viewers read: a GSO send arrives
			// as one datagram.
			if rc, err := c.SyscallConn(); err == nil {
				_ = rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_UDP, udpGRO, 1) })
			}
		}
		ports = append(ports, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
		go func() {
			b := make([]byte, 64<<10)
			oob := make([]byte, 64)
			for {
				n, oobn, _, _, err := c.ReadMsgUDPAddrPort(b, oob)
				if err != nil {
					return
				}
				got.Add(uint64(segments(n, oob[:oobn])))
			}
		}()
	}
	fmt.Println(strings.Join(ports, "\n"))
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Printf("%d viewers received %d packets\n", n, got.Load())
	return nil
}

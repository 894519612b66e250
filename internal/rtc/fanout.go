package rtc

import (
	"github.com/bookmygig/bookmygig/internal/icelite"
	"github.com/pion/rtp"
)

// Fanout sends many viewers' packets with few system calls. A sender that
// serves many icelite viewers from one goroutine (the stream's fan-out
// loop) encrypts each packet straight into the Fanout's buffer, with no
// copy; consecutive packets to one viewer become one GSO message (as
// UDPDest gathers them), and Flush hands the kernel up to fanoutMsgs
// messages, for as many viewers, per sendmmsg. The kernel's work per
// packet stays; what goes is a system call (and Go's poller around it) per
// viewer and frame.
//
// Not safe for concurrent use: one per sending goroutine.
type Fanout struct {
	buf  []byte
	msgs []fanMsg
	sys  fanoutSys
	// calls and packets count the sends since the last Flush.
	calls, packets int
}

// fanMsg is one GSO message: count packets of seg bytes (the last may be
// shorter) at buf[off:end], for d.
type fanMsg struct {
	d     *UDPDest
	off   int
	end   int
	seg   int
	count int
	short bool
}

const (
	// fanoutBytes is the buffer: about 20 viewers' share of a frame, so
	// the first of them waits well under a millisecond for the send.
	fanoutBytes = 256 << 10
	// fanoutMsgs is how many messages one Flush (one sendmmsg per
	// socket) carries at most.
	fanoutMsgs = 64
)

// NewFanout returns an empty Fanout.
func NewFanout() *Fanout {
	return &Fanout{buf: make([]byte, 0, fanoutBytes), msgs: make([]fanMsg, 0, fanoutMsgs)}
}

// OnRoute reports whether d is where p's RTP goes now: the UDP route of
// an icelite viewer (its socket and address), which Fanout.WriteRTP
// writes to. Over ICE-TCP, or once the viewer moved to another address or
// socket, it does not, and the viewer's packets go through p.WriteRTP
// instead.
func OnRoute(p *icelite.Peer, d *UDPDest) bool {
	if d == nil {
		return false
	}
	conn, addr, ok := p.UDPRoute()
	// Both addresses are unmapped (icelite's on receipt, dest's on
	// registration).
	return ok && addr == d.addr && conn == icelite.PacketConn(d.conn)
}

// WriteRTP encrypts one packet for peer p and queues it for d, the
// batching handle of p's UDP path (OnRoute: the caller checks it once
// per batch, not per packet).
func (f *Fanout) WriteRTP(p *icelite.Peer, d *UDPDest, h *rtp.Header, payload []byte) error {
	f.room(h.MarshalSize() + len(payload) + icelite.SRTPOverhead)
	off := len(f.buf)
	out, err := p.AppendRTP(f.buf, h, payload)
	if err != nil {
		return err
	}
	f.buf = out // grown only for a packet larger than the buffer
	f.add(d, off, len(out))
	return nil
}

// room sends what is queued if a packet of n more bytes would not fit.
func (f *Fanout) room(n int) {
	if len(f.msgs) == cap(f.msgs) || len(f.buf)+n > cap(f.buf) {
		f.flush()
	}
}

// add records the packet at buf[off:end] for d: appended to d's open
// message when GSO can carry it there, else in a new message.
func (f *Fanout) add(d *UDPDest, off, end int) {
	if k := len(f.msgs) - 1; k >= 0 {
		m := &f.msgs[k]
		if m.d == d && m.end == off && d.conn.gso.Load() && gsoFits(m.count, m.seg, m.end-m.off, m.short, end-off) {
			m.end = end
			m.count++
			m.short = end-off < m.seg
			return
		}
	}
	f.msgs = append(f.msgs, fanMsg{d: d, off: off, end: end, seg: end - off, count: 1})
}

// Flush sends what was queued; it returns how many system calls the
// sends since the last Flush took (WriteRTP sends when the buffer is
// full) and how many packets they carried.
func (f *Fanout) Flush() (calls, packets int) {
	f.flush()
	calls, packets = f.calls, f.packets
	f.calls, f.packets = 0, 0
	return calls, packets
}

func (f *Fanout) flush() {
	if len(f.msgs) == 0 {
		return
	}
	// One sendmmsg per socket: messages to one socket are usually all of
	// them (one UDP socket per interface).
	for start := 0; start < len(f.msgs); {
		conn := f.msgs[start].d.conn
		end := start + 1
		for end < len(f.msgs) && f.msgs[end].d.conn == conn {
			end++
		}
		f.calls += f.send(conn, f.msgs[start:end])
		start = end
	}
	for i := range f.msgs {
		m := &f.msgs[i]
		m.d.sends.Add(1)
		m.d.packets.Add(uint64(m.count))
		f.packets += m.count
		m.d = nil
	}
	f.msgs = f.msgs[:0]
	f.buf = f.buf[:0]
}

// sendEach sends the packets of msgs one by one (no sendmmsg or no GSO)
// and returns how many system calls that took.
func (f *Fanout) sendEach(conn *BatchConn, msgs []fanMsg) (calls int) {
	for _, m := range msgs {
		conn.sendSegments(f.buf[m.off:m.end], m.seg, m.d.addr)
		calls += m.count
	}
	return calls
}

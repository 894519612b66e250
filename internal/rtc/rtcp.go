package rtc

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// RTCPReader is an RTPSender or RTPReceiver.
type RTCPReader interface {
	ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error)
}

// ReadRTCP reads r until it fails (the connection closed), passing every
// packet to fn; a nil fn only drains r, which pion needs for its
// interceptors to run.
func ReadRTCP(r RTCPReader, fn func(rtcp.Packet)) {
	for {
		pkts, _, err := r.ReadRTCP()
		if err != nil {
			return
		}
		if fn == nil {
			continue
		}
		for _, p := range pkts {
			fn(p)
		}
	}
}

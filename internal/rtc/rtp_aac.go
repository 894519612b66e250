package rtc

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/bookmygig/bookmygig/media"
)

// AAC between nodes travels as RFC 3640 mpeg4-generic in AAC-hbr mode: a
// 16-bit AU-headers-length (in bits), then one 16-bit AU-header per access
// unit (13-bit size, 3-bit index or index-delta, always 0 here), then the
// access units. We send one AU per packet; an AU that does not fit is
// fragmented over several packets that all carry its AU-header (with the
// whole AU's size) and the same timestamp, the marker on the last one.

const (
	MimeAAC = "audio/mpeg4-generic"
	// AACFragment is the most AU bytes per packet (1180 + 4 header bytes
	// stay under RTPMTU).
	AACFragment = 1180
	// aacMaxAU is what a 13-bit AU-size can say.
	aacMaxAU = 1<<13 - 1
	// AACFrameSamples is an AAC-LC frame's length, for the timestamps of
	// packets with several AUs.
	AACFrameSamples = 1024
	// FmtpAACBase is our fmtp without config=.
	FmtpAACBase = "streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3"
)

// errAACPayload is a malformed RFC 3640 payload.
var errAACPayload = errors.New("malformed mpeg4-generic payload")

// FmtpAAC is the fmtp line describing an AAC track with AudioSpecificConfig
// asc.
func FmtpAAC(asc []byte) string {
	return FmtpAACBase + ";config=" + hex.EncodeToString(asc)
}

// AACConfigFromFmtp reads config= from an mpeg4-generic fmtp line and checks
// that the mode is one we depacketize.
func AACConfigFromFmtp(line string) (*media.AACConfig, error) {
	p := FmtpParams(line)
	cfgHex, mode, sizeLen, indexLen := p["config"], p["mode"], p["sizelength"], p["indexlength"]
	if !strings.EqualFold(mode, "AAC-hbr") || sizeLen != "13" || indexLen != "3" {
		return nil, fmt.Errorf("mpeg4-generic fmtp %q: want mode=AAC-hbr;sizelength=13;indexlength=3", line)
	}
	raw, err := hex.DecodeString(cfgHex)
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("mpeg4-generic fmtp: bad config %q", cfgHex)
	}
	return media.ParseAudioSpecificConfig(raw)
}

// PacketizeAAC appends to dst the RTP payloads carrying one AU: one
// payload, or fragments of at most AACFragment AU bytes. The last payload
// takes the marker. AUs larger than aacMaxAU cannot be described and give
// none.
func PacketizeAAC(dst [][]byte, au []byte) [][]byte {
	if len(au) == 0 || len(au) > aacMaxAU {
		return dst
	}
	hdr := [4]byte{0, 16}
	binary.BigEndian.PutUint16(hdr[2:], uint16(len(au))<<3)
	for off := 0; off < len(au); off += AACFragment {
		end := min(off+AACFragment, len(au))
		p := make([]byte, 0, 4+end-off)
		p = append(p, hdr[:]...)
		dst = append(dst, append(p, au[off:end]...))
	}
	return dst
}

// PackAAC puts whole AUs (each at most aacMaxAU, together within one
// packet) in one AAC-hbr payload: one AU-header each (size, index or
// index-delta 0: consecutive AUs), then their data.
func PackAAC(aus [][]byte) []byte {
	n := 2 + 2*len(aus)
	for _, au := range aus {
		n += len(au)
	}
	p := make([]byte, 2+2*len(aus), n)
	binary.BigEndian.PutUint16(p, uint16(16*len(aus)))
	for i, au := range aus {
		binary.BigEndian.PutUint16(p[2+2*i:], uint16(len(au))<<3)
	}
	for _, au := range aus {
		p = append(p, au...)
	}
	return p
}

// AACDepacketizer reassembles AUs from RFC 3640 AAC-hbr payloads.
type AACDepacketizer struct {
	frag     []byte
	fragSize int
	fragTS   uint32
	fragSeq  uint16
	inFrag   bool
}

// AACUnit is one depacketized AU and its RTP timestamp.
type AACUnit struct {
	TS   uint32
	Data []byte
}

// Push takes one packet and returns the AUs it completes (their data is
// freshly allocated). A lost fragment drops that AU.
func (d *AACDepacketizer) Push(seq uint16, ts uint32, marker bool, payload []byte) ([]AACUnit, error) {
	if len(payload) < 2 {
		return nil, errAACPayload
	}
	hdrBits := int(binary.BigEndian.Uint16(payload))
	if hdrBits == 0 || hdrBits%16 != 0 {
		return nil, fmt.Errorf("%w: AU-headers-length %d", errAACPayload, hdrBits)
	}
	n := hdrBits / 16
	hdrEnd := 2 + 2*n
	if len(payload) < hdrEnd {
		return nil, fmt.Errorf("%w: %d AU-headers in %d bytes", errAACPayload, n, len(payload))
	}
	data := payload[hdrEnd:]
	size := func(i int) int { return int(binary.BigEndian.Uint16(payload[2+2*i:]) >> 3) }
	if n == 1 && (d.inFrag || size(0) > len(data)) {
		return d.fragment(seq, ts, marker, size(0), data), nil
	}
	d.inFrag = false
	out := make([]AACUnit, 0, n)
	for i := range n {
		sz := size(i)
		if sz > len(data) {
			return out, fmt.Errorf("%w: AU of %d bytes with %d left", errAACPayload, sz, len(data))
		}
		out = append(out, AACUnit{TS: ts + uint32(i*AACFrameSamples), Data: append([]byte(nil), data[:sz]...)})
		data = data[sz:]
	}
	return out, nil
}

func (d *AACDepacketizer) fragment(seq uint16, ts uint32, marker bool, size int, data []byte) []AACUnit {
	if d.inFrag && (ts != d.fragTS || seq != d.fragSeq+1 || size != d.fragSize) {
		// A fragment went missing, or a new AU began: start over.
		d.inFrag = false
	}
	if !d.inFrag {
		d.frag, d.fragSize, d.fragTS, d.inFrag = d.frag[:0], size, ts, true
	}
	d.fragSeq = seq
	d.frag = append(d.frag, data...)
	if len(d.frag) > d.fragSize {
		d.inFrag = false
		return nil
	}
	if !marker && len(d.frag) < d.fragSize {
		return nil
	}
	d.inFrag = false
	if len(d.frag) != d.fragSize {
		return nil
	}
	return []AACUnit{{TS: ts, Data: append([]byte(nil), d.frag...)}}
}

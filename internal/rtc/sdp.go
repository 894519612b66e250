package rtc

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// UnmarshalOffer reads a WHIP or WHEP offer body, saying why it is none in
// words a client's developer understands.
func UnmarshalOffer(body string) (*sdp.SessionDescription, error) {
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("%w: empty body, expected an SDP offer", ErrBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(body); err != nil {
		return nil, fmt.Errorf("%w: not an SDP offer: %v", ErrBadOffer, err)
	}
	return &sd, nil
}

// CheckTransport checks that an offer names its ICE credentials and DTLS
// fingerprint (at session or media level): the checks after each side's
// own media checks.
func CheckTransport(sd *sdp.SessionDescription) error {
	if _, ok := sd.Attribute("ice-ufrag"); !ok && !mediaHas(sd, "ice-ufrag") {
		return fmt.Errorf("%w: the offer has no ice-ufrag", ErrBadOffer)
	}
	if _, ok := sd.Attribute("fingerprint"); !ok && !mediaHas(sd, "fingerprint") {
		return fmt.Errorf("%w: the offer has no DTLS fingerprint", ErrBadOffer)
	}
	return nil
}

func mediaHas(sd *sdp.SessionDescription, key string) bool {
	for _, m := range sd.MediaDescriptions {
		if _, ok := m.Attribute(key); ok {
			return true
		}
	}
	return false
}

// CanSend reports whether the offerer wants to send on m.
func CanSend(m *sdp.MediaDescription) bool {
	return !hasDirection(m, "recvonly")
}

// CanReceive reports whether the offerer wants to receive on m.
func CanReceive(m *sdp.MediaDescription) bool {
	return !hasDirection(m, "sendonly")
}

// hasDirection reports whether m is inactive or has the direction
// attribute dir.
func hasDirection(m *sdp.MediaDescription, dir string) bool {
	for _, a := range m.Attributes {
		if a.Key == dir || a.Key == "inactive" {
			return true
		}
	}
	return false
}

// OffersCodec reports whether m has an rtpmap for enc (case-insensitive)
// whose fmtp, when fmtpNeeds is set, contains it.
func OffersCodec(m *sdp.MediaDescription, enc, fmtpNeeds string) bool {
	pts := map[string]bool{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, e, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToLower(e), strings.ToLower(enc)+"/") {
			pts[pt] = true
		}
	}
	if len(pts) == 0 || fmtpNeeds == "" {
		return len(pts) > 0
	}
	for _, a := range m.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		pt, params, ok := strings.Cut(a.Value, " ")
		if ok && pts[pt] && strings.Contains(strings.ReplaceAll(params, " ", ""), fmtpNeeds) {
			return true
		}
	}
	return false
}

// ICEUfrag returns the first ice-ufrag of an SDP (our answer's identifies
// the ICE session, hence the ETag).
func ICEUfrag(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// ETag is the ETag of a session whose current SDP is s: its ICE ufrag.
func ETag(s string) string { return `"` + ICEUfrag(s) + `"` }

// TrickleFrag is a parsed application/trickle-ice-sdpfrag body (RFC 8840).
type TrickleFrag struct {
	Ufrag      string
	Pwd        string
	Candidates []FragCandidate
	End        bool
}

// FragCandidate is one trickled candidate and the m-line (mid) it is for.
type FragCandidate struct {
	Mid       string
	Candidate string // without the "a=" prefix
}

// ParseTrickleFrag reads the lines WHIP/WHEP clients send in a PATCH.
func ParseTrickleFrag(body string) (*TrickleFrag, error) {
	f := &TrickleFrag{}
	mid := ""
	for _, raw := range strings.Split(body, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.Ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.Pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.Candidates = append(f.Candidates, FragCandidate{Mid: mid, Candidate: strings.TrimPrefix(line, "a=")})
		case line == "a=end-of-candidates":
			f.End = true
		case strings.HasPrefix(line, "a=") || strings.HasPrefix(line, "m="):
			// ice-options, group, ... carry nothing we need.
		default:
			return nil, fmt.Errorf("%w: line %q is not an SDP fragment line", ErrBadOffer, Truncate(line, 40))
		}
	}
	return f, nil
}

// Truncate shortens s to n bytes and an ellipsis, for error messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// FmtpParams splits an fmtp parameter list ("k=v;k=v", RFC 8866 a=fmtp
// format-specific parameters) into a map with lower-case keys.
func FmtpParams(line string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

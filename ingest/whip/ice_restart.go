package whip

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/pion/webrtc/v4"
)

// A WHIP client restarts ICE (RFC 9725 section 4.4) with a PATCH carrying
// new ice-ufrag/ice-pwd; the answer is a trickle fragment with our new
// credentials and candidates.

// serveRestart answers an ICE restart PATCH with the trickle fragment of
// our new answer.
func (s *Server) serveRestart(w http.ResponseWriter, r *http.Request, v rtc.Session, frag *rtc.TrickleFrag) {
	p := v.(*publisher)
	answer, err := p.restartICE(r.Context(), p.pc.RemoteDescription().SDP, frag)
	if err != nil {
		httperr.Write(w, http.StatusBadRequest, "ice_restart_failed", err.Error())
		return
	}
	p.setETag(rtc.ETag(answer))
	w.Header().Set("Content-Type", rtc.MimeTrickle)
	w.Header().Set("ETag", p.ETag())
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, answerFragment(answer))
	p.log.Info("whip ice restart")
}

// restartICE renegotiates with the publisher's new ICE credentials (its
// previous offer otherwise unchanged) and returns our new answer.
func (p *publisher) restartICE(ctx context.Context, prev string, frag *rtc.TrickleFrag) (string, error) {
	if frag.Pwd == "" {
		return "", errors.New("an ICE restart needs both a=ice-ufrag and a=ice-pwd")
	}
	offer := replaceICECredentials(prev, frag.Ufrag, frag.Pwd)
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, rtc.GatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if err := p.srv.sig.AddCandidates(p.pc, frag); err != nil {
		return "", err
	}
	return p.pc.LocalDescription().SDP, nil
}

// replaceICECredentials puts new ice-ufrag/ice-pwd lines into an SDP.
func replaceICECredentials(sdp, ufrag, pwd string) string {
	lines := strings.Split(sdp, "\n")
	for i, l := range lines {
		cr := strings.HasSuffix(l, "\r")
		t := strings.TrimSuffix(l, "\r")
		switch {
		case strings.HasPrefix(t, "a=ice-ufrag:"):
			t = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(t, "a=ice-pwd:"):
			t = "a=ice-pwd:" + pwd
		default:
			continue
		}
		if cr {
			t += "\r"
		}
		lines[i] = t
	}
	return strings.Join(lines, "\n")
}

// answerFragment is the trickle-ice-sdpfrag of an answer: credentials, then
// each m-line's mid and candidates.
func answerFragment(sdp string) string {
	var b strings.Builder
	ufragDone, pwdDone := false, false
	for _, raw := range strings.Split(sdp, "\n") {
		l := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:") && !ufragDone:
			ufragDone = true
		case strings.HasPrefix(l, "a=ice-pwd:") && !pwdDone:
			pwdDone = true
		case strings.HasPrefix(l, "m="), strings.HasPrefix(l, "a=mid:"),
			strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
		default:
			continue
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

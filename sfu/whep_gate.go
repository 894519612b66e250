package sfu

import (
	"net/http"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/internal/httperr"
)

// admitViewer asks the Gate whether the request may watch gigID; without a
// Gate every gig is open. On a refusal it has answered the request and
// returns nil. The credential is never logged.
func (s *SFU) admitViewer(w http.ResponseWriter, r *http.Request, gigID, screen string) *access.Pass {
	if s.cfg.Gate == nil {
		return access.Open()
	}
	cred := access.BearerToken(r)
	pass, err := s.cfg.Gate.Admit(r.Context(), access.Request{GigID: gigID, Credential: cred, Kind: access.Media, Screen: screen})
	switch {
	case err == nil && pass != nil:
		return pass
	case access.Denied(err):
		s.ctr.refused.Add(1)
		challenge := `Bearer realm="whep"`
		if cred != "" {
			// RFC 6750: no error code when the request had no credential.
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		httperr.Write(w, http.StatusUnauthorized, access.Code(err), access.Message(gigID, err))
	default:
		s.ctr.gateFailures.Add(1)
		if err == nil {
			err = errNilPass
		}
		s.log.Warn("whep ticket check failed", "gig", gigID, "err", err)
		w.Header().Set("Retry-After", "2")
		httperr.Write(w, http.StatusServiceUnavailable, "unavailable", "could not check the ticket right now; try again in a moment")
	}
	return nil
}

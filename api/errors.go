package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/payment"
	"github.com/bookmygig/bookmygig/store"
	"github.com/bookmygig/bookmygig/ticket"
	"github.com/gin-gonic/gin"
)

// Error codes of the JSON error body.
const (
	codeValidation     = "validation_failed"
	codeUnauthorized   = "unauthorized"
	codeForbidden      = "forbidden"
	codeNotFound       = "not_found"
	codeConflict       = "conflict"
	codeTooLarge       = "body_too_large"
	codeMediaType      = "unsupported_media_type"
	codeUnavailable    = "unavailable"
	codeBadRequest     = "bad_request"
	codeInternal       = "internal"
	codeTimeout        = "request_timeout"
	codeRateLimited    = "rate_limited"
	msgUnavailable     = "storage is unavailable, try again shortly"
	msgInternal        = "internal error"
	msgNotFound        = "gig not found"
	msgConflictDefault = "the gig changed or is in a state that does not allow this"
)

// errTrailing means a JSON body went on after its object.
var errTrailing = errors.New("trailing data after the JSON object")

// writeError answers with the one JSON error shape (internal/httperr, which
// gives 503 answers Retry-After) and stops the handler chain. 401 answers
// say how to authenticate.
func writeError(c *gin.Context, status int, code, msg, field string) {
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="bookmygig"`)
	}
	c.Abort()
	httperr.WriteField(c.Writer, status, code, msg, field)
}

// answer is the fixed response to one sentinel error.
type answer struct {
	err          error
	status       int
	code, msg    string
	logAsWarning bool
}

// answers maps the sentinel errors of the store, ticket and payment packages
// to their responses, first match wins.
func answers() []answer {
	return []answer{
		{ticket.ErrSoldOut, http.StatusConflict, codeSoldOut, msgSoldOut, false},
		{ticket.ErrNotFound, http.StatusNotFound, codeNotFound, "ticket not found", false},
		{ticket.ErrInvalidToken, http.StatusUnauthorized, codeInvalidTicket, "this ticket is not valid for this gig", false},
		{ticket.ErrPending, http.StatusUnauthorized, codeInvalidTicket, "this ticket is not valid for this gig", false},
		{ticket.ErrConflict, http.StatusConflict, codeConflict, "the ticket is already revoked or refunded", false},
		{payment.ErrNotConfigured, http.StatusServiceUnavailable, codePaymentsOff, msgPaymentsOff, false},
		{payment.ErrBadSignature, http.StatusBadRequest, codeInvalidSig, "the webhook signature does not verify", false},
		{payment.ErrBadEvent, http.StatusBadRequest, codeBadRequest, "the webhook body is not a payment event", false},
		{payment.ErrProvider, http.StatusBadGateway, codePaymentFailed, "the payment provider did not answer; try again shortly", true},
		{store.ErrNotFound, http.StatusNotFound, codeNotFound, msgNotFound, false},
		{store.ErrConflict, http.StatusConflict, codeConflict, msgConflictDefault, false},
		{store.ErrUnauthorized, http.StatusUnauthorized, codeUnauthorized, "send the gig's manage token as Authorization: Bearer <token>", false},
		{store.ErrForbidden, http.StatusForbidden, codeForbidden, "the manage token does not belong to this gig", false},
	}
}

// fail maps an error to its status code. Messages are fixed strings, never
// err.Error(), so nothing internal (addresses, keys) reaches clients.
func (h *handlers) fail(c *gin.Context, err error) {
	var (
		ve *store.ValidationError
		fe *ticket.FieldError
	)
	switch {
	case errors.As(err, &ve):
		writeError(c, http.StatusBadRequest, codeValidation, ve.Message, ve.Field)
		return
	case errors.As(err, &fe):
		writeError(c, http.StatusBadRequest, codeValidation, fe.Message, fe.Field)
		return
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, ticket.ErrUnavailable):
		h.d.Meter.storeDown()
		h.log.Warn("store unavailable", "route", c.FullPath(), "err", err)
		writeError(c, http.StatusServiceUnavailable, codeUnavailable, msgUnavailable, "")
		return
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client went away or its deadline passed; nobody reads this.
		writeError(c, http.StatusServiceUnavailable, codeUnavailable, "request cancelled", "")
		return
	}
	for _, a := range answers() {
		if errors.Is(err, a.err) {
			if a.logAsWarning {
				h.log.Warn("request failed", "route", c.FullPath(), "err", err)
			}
			writeError(c, a.status, a.code, a.msg, "")
			return
		}
	}
	h.log.Error("request failed", "route", c.FullPath(), "err", err)
	writeError(c, http.StatusInternalServerError, codeInternal, msgInternal, "")
}

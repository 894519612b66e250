package api

import (
	"context"
	"errors"
	"net/http"

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
	msgUnavailable     = "storage is unavailable, try again shortly"
	msgInternal        = "internal error"
	msgNotFound        = "gig not found"
	msgConflictDefault = "the gig changed or is in a state that does not allow this"
)

// errTrailing means a JSON body went on after its object.
var errTrailing = errors.New("trailing data after the JSON object")

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(c *gin.Context, status int, code, msg, field string) {
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="bookmygig"`)
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "1")
	}
	c.AbortWithStatusJSON(status, errorBody{errorDetail{Code: code, Message: msg, Field: field}})
}

// fail maps a store error to its status code. Messages are fixed strings,
// never err.Error(), so nothing internal (addresses, keys) reaches clients.
func (h *handlers) fail(c *gin.Context, err error) {
	var (
		ve *store.ValidationError
		fe *ticket.FieldError
	)
	switch {
	case errors.As(err, &ve):
		writeError(c, http.StatusBadRequest, codeValidation, ve.Message, ve.Field)
	case errors.As(err, &fe):
		writeError(c, http.StatusBadRequest, codeValidation, fe.Message, fe.Field)
	case errors.Is(err, ticket.ErrSoldOut):
		writeError(c, http.StatusConflict, codeSoldOut, msgSoldOut, "")
	case errors.Is(err, ticket.ErrNotFound):
		writeError(c, http.StatusNotFound, codeNotFound, "ticket not found", "")
	case errors.Is(err, ticket.ErrInvalidToken), errors.Is(err, ticket.ErrPending):
		writeError(c, http.StatusUnauthorized, codeInvalidTicket, "this ticket is not valid for this gig", "")
	case errors.Is(err, ticket.ErrConflict):
		writeError(c, http.StatusConflict, codeConflict, "the ticket is already revoked or refunded", "")
	case errors.Is(err, payment.ErrNotConfigured):
		writeError(c, http.StatusServiceUnavailable, codePaymentsOff, msgPaymentsOff, "")
	case errors.Is(err, payment.ErrBadSignature):
		writeError(c, http.StatusBadRequest, codeInvalidSig, "the webhook signature does not verify", "")
	case errors.Is(err, payment.ErrBadEvent):
		writeError(c, http.StatusBadRequest, codeBadRequest, "the webhook body is not a payment event", "")
	case errors.Is(err, payment.ErrProvider):
		h.log.Warn("payment provider failed", "route", c.FullPath(), "err", err)
		writeError(c, http.StatusBadGateway, codePaymentFailed, "the payment provider did not answer; try again shortly", "")
	case errors.Is(err, store.ErrNotFound):
		writeError(c, http.StatusNotFound, codeNotFound, msgNotFound, "")
	case errors.Is(err, store.ErrConflict):
		writeError(c, http.StatusConflict, codeConflict, msgConflictDefault, "")
	case errors.Is(err, store.ErrUnauthorized):
		writeError(c, http.StatusUnauthorized, codeUnauthorized, "send the gig's manage token as Authorization: Bearer <token>", "")
	case errors.Is(err, store.ErrForbidden):
		writeError(c, http.StatusForbidden, codeForbidden, "the manage token does not belong to this gig", "")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, ticket.ErrUnavailable):
		h.d.Meter.storeDown()
		h.log.Warn("store unavailable", "route", c.FullPath(), "err", err)
		writeError(c, http.StatusServiceUnavailable, codeUnavailable, msgUnavailable, "")
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client went away or its deadline passed; nobody reads this.
		writeError(c, http.StatusServiceUnavailable, codeUnavailable, "request cancelled", "")
	default:
		h.log.Error("request failed", "route", c.FullPath(), "err", err)
		writeError(c, http.StatusInternalServerError, codeInternal, msgInternal, "")
	}
}

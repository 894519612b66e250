package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/bookmygig/bookmygig/store"
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
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		writeError(c, http.StatusBadRequest, codeValidation, ve.Message, ve.Field)
	case errors.Is(err, store.ErrNotFound):
		writeError(c, http.StatusNotFound, codeNotFound, msgNotFound, "")
	case errors.Is(err, store.ErrConflict):
		writeError(c, http.StatusConflict, codeConflict, msgConflictDefault, "")
	case errors.Is(err, store.ErrUnauthorized):
		writeError(c, http.StatusUnauthorized, codeUnauthorized, "send the gig's manage token as Authorization: Bearer <token>", "")
	case errors.Is(err, store.ErrForbidden):
		writeError(c, http.StatusForbidden, codeForbidden, "the manage token does not belong to this gig", "")
	case errors.Is(err, store.ErrUnavailable):
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

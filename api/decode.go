package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// decodeJSON reads one JSON object from the body into dst, answering the
// request itself (413, 415, 400) and returning false when it cannot.
// Unknown fields are rejected, so a typo ("tittle") is an error rather than
// a silently ignored change.
func (h *handlers) decodeJSON(c *gin.Context, dst any) bool {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
		writeError(c, http.StatusUnsupportedMediaType, codeMediaType, "send the body as Content-Type: application/json", "")
		return false
	}
	limit := h.d.MaxBodyBytes
	if c.Request.ContentLength > limit {
		h.d.Meter.tooLarge()
		writeError(c, http.StatusRequestEntityTooLarge, codeTooLarge, tooLargeMsg(limit), "")
		return false
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	if err := decodeStrict(body, dst); err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			h.d.Meter.tooLarge()
		}
		writeDecodeError(c, err, limit)
		return false
	}
	return true
}

// decodeStrict decodes exactly one JSON value with no unknown fields and
// nothing after it.
func decodeStrict(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return errTrailing
		}
		return err
	}
	return nil
}

func tooLargeMsg(limit int64) string {
	return "request body is larger than " + strconv.FormatInt(limit, 10) + " bytes"
}

func writeDecodeError(c *gin.Context, err error, limit int64) {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		writeError(c, http.StatusRequestEntityTooLarge, codeTooLarge, tooLargeMsg(limit), "")
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(c, http.StatusRequestTimeout, codeTimeout, "the request body did not arrive in time", "")
	case errors.Is(err, io.EOF):
		writeError(c, http.StatusBadRequest, codeBadRequest, "request body is empty; send a JSON object", "")
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(c, http.StatusBadRequest, codeBadRequest, "invalid JSON: unexpected end of input", "")
	case errors.As(err, &syntax):
		writeError(c, http.StatusBadRequest, codeBadRequest, "invalid JSON at byte "+strconv.FormatInt(syntax.Offset, 10), "")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		writeError(c, http.StatusBadRequest, codeValidation, "must be "+jsonKind(typeErr), typeErr.Field)
	case errors.As(err, &typeErr):
		writeError(c, http.StatusBadRequest, codeBadRequest, "the body must be a JSON object", "")
	case errors.Is(err, errTrailing):
		writeError(c, http.StatusBadRequest, codeBadRequest, "the body must hold exactly one JSON object", "")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		writeError(c, http.StatusBadRequest, codeValidation, "unknown field", field)
	default:
		writeError(c, http.StatusBadRequest, codeBadRequest, "invalid JSON", "")
	}
}

func jsonKind(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind().String() {
	case "int64", "int", "int32":
		return "an integer in range"
	case "string":
		return "a string"
	case "ptr":
		if e.Type.Elem().Kind().String() == "string" {
			return "a string"
		}
		return "an integer in range"
	}
	return "of type " + e.Type.String()
}

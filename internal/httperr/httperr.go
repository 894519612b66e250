// Package httperr writes the one JSON error shape of every HTTP answer the
// server gives: {"error":{"code":"...","message":"...","field":"..."}}, the
// field only for a validation error about one input. The API (through gin),
// the media handlers and cmd all answer errors through it.
package httperr

import (
	"encoding/json"
	"net/http"
)

// Body is the error shape.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the inside of Body.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Write answers status with the JSON error. 503 answers carry Retry-After
// (1 s unless the caller set one).
func Write(w http.ResponseWriter, status int, code, msg string) {
	WriteField(w, status, code, msg, "")
}

// WriteField is Write for an error about one input, named by field (a JSON
// member or query parameter); "" leaves the field out.
func WriteField(w http.ResponseWriter, status int, code, msg, field string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Body{Detail{Code: code, Message: msg, Field: field}})
}

// Package httperr writes the one JSON error shape of every HTTP answer the
// server gives outside gin: {"error":{"code":"...","message":"..."}}.
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

// Write answers status with the JSON error. 503 answers carry Retry-After.
func Write(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Body{Detail{Code: code, Message: msg}})
}

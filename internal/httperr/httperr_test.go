package httperr

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		code, msg  string
		field      string
		retryAfter string // set before writing
		wantRetry  string
		wantBody   string
	}{
		{"503 gets Retry-After", 503, "unavailable", `say "why"`, "", "", "1",
			`{"error":{"code":"unavailable","message":"say \"why\""}}` + "\n"},
		{"503 keeps the caller's Retry-After", 503, "viewer_cap", "full", "", "30", "30",
			`{"error":{"code":"viewer_cap","message":"full"}}` + "\n"},
		{"404 has none", 404, "not_found", "gig not found", "", "", "",
			`{"error":{"code":"not_found","message":"gig not found"}}` + "\n"},
		{"field", 400, "validation_failed", "title is required", "title", "", "",
			`{"error":{"code":"validation_failed","message":"title is required","field":"title"}}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if tc.retryAfter != "" {
				rec.Header().Set("Retry-After", tc.retryAfter)
			}
			if tc.field == "" {
				Write(rec, tc.status, tc.code, tc.msg)
			} else {
				WriteField(rec, tc.status, tc.code, tc.msg, tc.field)
			}
			if rec.Code != tc.status || rec.Body.String() != tc.wantBody ||
				rec.Header().Get("Content-Type") != "application/json" ||
				rec.Header().Get("Cache-Control") != "no-store" ||
				rec.Header().Get("Retry-After") != tc.wantRetry {
				t.Fatalf("%d %q %v", rec.Code, rec.Body.String(), rec.Header())
			}
			var b Body
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if b.Error != (Detail{tc.code, tc.msg, tc.field}) {
				t.Fatalf("decoded %+v", b)
			}
		})
	}
}

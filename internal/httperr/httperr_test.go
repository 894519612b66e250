package httperr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, http.StatusServiceUnavailable, "unavailable", `say "why"`)
	var b Body
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 503 || b.Error.Code != "unavailable" || b.Error.Message != `say "why"` ||
		rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("%d %+v %v", rec.Code, b, rec.Header())
	}
}

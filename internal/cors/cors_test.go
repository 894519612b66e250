package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	list := Origins{"https://a.example", "https://B.example"}
	cases := []struct {
		name    string
		origins Origins
		origin  string
		want    string
	}{
		{"any, with origin", Origins{"*"}, "https://x.example", "*"},
		{"any, no origin", Origins{"*"}, "", "*"},
		{"any among others", Origins{"https://a.example", "*"}, "https://x.example", "*"},
		{"listed", list, "https://a.example", "https://a.example"},
		{"listed, other case", list, "https://b.example", "https://b.example"},
		{"not listed", list, "https://evil.example", ""},
		{"list, no origin", list, "", ""},
		{"none", nil, "https://a.example", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.origins.Allowed(tc.origin); got != tc.want {
				t.Fatalf("Allowed(%q) = %q, want %q", tc.origin, got, tc.want)
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	list := Origins{"https://a.example"}
	cases := []struct {
		name   string
		origin string
		want   bool
	}{
		{"no origin: not a browser", "", true},
		{"listed", "https://a.example", true},
		{"not listed", "https://evil.example", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request(http.MethodGet, "Origin", tc.origin)
			if got := list.CheckOrigin(r); got != tc.want {
				t.Fatalf("CheckOrigin = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSet(t *testing.T) {
	cases := []struct {
		name              string
		origins           Origins
		origin, expose    string
		allowed           bool
		wantACAO, wantExp string
		wantVary          bool
	}{
		{"any", Origins{"*"}, "https://x.example", ExposeWebRTC, true, "*", ExposeWebRTC, false},
		{"any, no origin", Origins{"*"}, "", "", true, "*", "", false},
		{"listed", Origins{"https://a.example"}, "https://a.example", ExposeWebRTC, true, "https://a.example", ExposeWebRTC, true},
		{"not listed", Origins{"https://a.example"}, "https://evil.example", ExposeWebRTC, false, "", "", true},
		{"list, no origin", Origins{"https://a.example"}, "", ExposeWebRTC, false, "", "", true},
		{"none", nil, "https://a.example", "", false, "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request(http.MethodGet, "Origin", tc.origin)
			h := http.Header{}
			if got := tc.origins.Set(h, r, tc.expose); got != tc.allowed {
				t.Fatalf("Set = %v, want %v", got, tc.allowed)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.wantACAO {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.wantACAO)
			}
			if got := h.Get("Access-Control-Expose-Headers"); got != tc.wantExp {
				t.Errorf("Access-Control-Expose-Headers %q, want %q", got, tc.wantExp)
			}
			if got := h.Get("Vary") == "Origin"; got != tc.wantVary {
				t.Errorf("Vary %q, want Origin: %v", h.Values("Vary"), tc.wantVary)
			}
		})
	}
}

// TestSetTwiceVariesOnce: a router's middleware and the handler it mounts
// both set CORS headers; Vary names Origin once.
func TestSetTwiceVariesOnce(t *testing.T) {
	r := request(http.MethodGet, "Origin", "https://a.example")
	h := http.Header{"Vary": {"Accept-Encoding, origin"}}
	o := Origins{"https://a.example"}
	o.Set(h, r, "")
	o.Set(h, r, "")
	if got := strings.Join(h.Values("Vary"), ", "); got != "Accept-Encoding, origin" {
		t.Fatalf("Vary %q", got)
	}
	h = http.Header{}
	o.Set(h, r, "")
	o.Set(h, r, "")
	if got := h.Values("Vary"); len(got) != 1 || got[0] != "Origin" {
		t.Fatalf("Vary %q", got)
	}
}

func TestIsPreflight(t *testing.T) {
	cases := []struct {
		name, method, requestMethod string
		want                        bool
	}{
		{"preflight", http.MethodOptions, "POST", true},
		{"plain OPTIONS", http.MethodOptions, "", false},
		{"GET", http.MethodGet, "POST", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/", nil)
			if tc.requestMethod != "" {
				r.Header.Set("Access-Control-Request-Method", tc.requestMethod)
			}
			if got := IsPreflight(r); got != tc.want {
				t.Fatalf("IsPreflight = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPreflightSet(t *testing.T) {
	cases := []struct {
		name                     string
		p                        Preflight
		requestHeaders           string
		wantMethods, wantHeaders string
		wantMaxAge               string
	}{
		{"fixed headers", Preflight{"POST, OPTIONS", "Authorization, Content-Type", 24 * time.Hour}, "x-other",
			"POST, OPTIONS", "Authorization, Content-Type", "86400"},
		{"echoed headers", Preflight{"GET, POST", "", 10 * time.Minute}, "authorization, content-type",
			"GET, POST", "authorization, content-type", "600"},
		{"nothing asked, no max age", Preflight{Methods: "GET"}, "", "GET", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request(http.MethodOptions, "Access-Control-Request-Headers", tc.requestHeaders)
			h := http.Header{}
			tc.p.Set(h, r)
			if h.Get("Access-Control-Allow-Methods") != tc.wantMethods ||
				h.Get("Access-Control-Allow-Headers") != tc.wantHeaders ||
				h.Get("Access-Control-Max-Age") != tc.wantMaxAge {
				t.Fatalf("headers %v", h)
			}
		})
	}
}

// request is a request to "/" with header name set to value, unless value
// is empty.
func request(method, name, value string) *http.Request {
	r := httptest.NewRequest(method, "/", nil)
	if value != "" {
		r.Header.Set(name, value)
	}
	return r
}

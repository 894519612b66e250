package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	root := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>shell</title>")},
		"favicon.svg":          {Data: []byte("<svg/>")},
		"assets/index-abc.js":  {Data: []byte("console.log(1)")},
		"assets/index-abc.css": {Data: []byte("body{}")},
	}
	h := newHandler(root, Config{})
	tests := []struct {
		name, method, path string
		status             int
		bodyHas, cache     string
	}{
		{"root is the shell", "GET", "/", 200, "shell", "no-cache"},
		{"index.html is the shell", "GET", "/index.html", 200, "shell", "no-cache"},
		{"client route gets the shell", "GET", "/gig/abc123", 200, "shell", "no-cache"},
		{"nested client route", "GET", "/studio/abc123/", 200, "shell", "no-cache"},
		{"hashed asset is immutable", "GET", "/assets/index-abc.js", 200, "console.log", "public, max-age=31536000, immutable"},
		{"plain file", "GET", "/favicon.svg", 200, "<svg/>", "public, max-age=3600"},
		{"missing asset is 404, not html", "GET", "/assets/index-old.js", 404, "not found", ""},
		{"missing file with extension is 404", "GET", "/robots.txt", 404, "not found", ""},
		{"assets dir is not a page", "GET", "/assets/", 404, "not found", ""},
		{"dot-dot stays inside the app", "GET", "/../../etc/passwd", 200, "shell", "no-cache"},
		{"head works", "HEAD", "/gig/x", 200, "", "no-cache"},
		{"post refused", "POST", "/", 405, "method not allowed", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tc.status, rec.Body.String())
			}
			if !strings.Contains(strings.ToLower(rec.Body.String()), tc.bodyHas) {
				t.Errorf("body %q lacks %q", rec.Body.String(), tc.bodyHas)
			}
			if tc.cache != "" && rec.Header().Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", rec.Header().Get("Cache-Control"), tc.cache)
			}
		})
	}
}

// TestPagesSendCSP: pages forbid inline and foreign scripts and framing by
// other sites (clickjacking), and the operator can allow named framers.
func TestPagesSendCSP(t *testing.T) {
	root := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "frame-ancestors 'self'"},
		{Config{FrameAncestors: []string{"'self'", "https://partner.example"}}, "frame-ancestors 'self' https://partner.example"},
	} {
		rec := httptest.NewRecorder()
		newHandler(root, tc.cfg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gig/x", nil))
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, tc.want) || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
			t.Fatalf("CSP %q, want script-src 'self' and %q", csp, tc.want)
		}
	}
}

// TestCSPNamesClusterNodes: a cluster's pages may connect to the other
// nodes (a full node steers WebRTC offers there); only plain origins pass.
func TestCSPNamesClusterNodes(t *testing.T) {
	root := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}
	nodes := []string{"https://node2.gigs.example/", "http://10.0.0.3:8080", "javascript:alert(1)", "https://evil.example; script-src *"}
	h := newHandler(root, Config{ConnectSources: func() []string { return nodes }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gig/x", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' https://node2.gigs.example http://10.0.0.3:8080; ") {
		t.Fatalf("CSP %q does not let the page reach the other nodes", csp)
	}
	if strings.Contains(csp, "evil") || strings.Contains(csp, "javascript") || strings.Count(csp, "script-src") != 1 {
		t.Fatalf("CSP %q took a source that is not a plain origin", csp)
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	h := newHandler(fstest.MapFS{".gitkeep": {Data: nil}}, Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "make web") {
		t.Fatalf("got %d %q, want 503 naming `make web`", rec.Code, rec.Body.String())
	}
}

func TestEmbeddedHandler(t *testing.T) {
	// Works whether or not npm has run: built gives the shell, unbuilt 503.
	rec := httptest.NewRecorder()
	Handler(Config{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if Built() {
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="main"`) {
			t.Fatalf("built front-end: got %d without the app shell", rec.Code)
		}
	} else if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("unbuilt front-end: got %d, want 503", rec.Code)
	}
}

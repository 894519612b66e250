package api

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

func testMounts() []Mount {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "id="+r.PathValue("id")+" file="+r.PathValue("file"))
	})
	return []Mount{
		{Method: "POST", Path: "/whip/:id", Summary: "WHIP publish", Handler: echo},
		{Method: "OPTIONS", Path: "/whip/:id", Summary: "WHIP ICE servers", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "<stun:stun.example>; rel=\"ice-server\"")
			w.WriteHeader(http.StatusNoContent)
		})},
		{Method: "GET", Path: "/live/*file", Summary: "HTTP-FLV", Handler: echo},
		{Method: "GET", Path: "/api/gigs/:id/chat", Summary: "chat WebSocket", Handler: echo},
		{Method: "GET", Path: "/boom", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") })},
	}
}

func TestMountsReceivePathValues(t *testing.T) {
	env := newEnv(t, engines()[0], func(d *Deps) { d.Mounts = testMounts() })
	cases := []struct{ method, path, want string }{
		{"POST", "/whip/abc", "id=abc file="},
		{"GET", "/live/abc.flv", "id= file=/abc.flv"},
		{"GET", "/api/gigs/xyz/chat", "id=xyz file="},
	}
	for _, tc := range cases {
		r := env.do(tc.method, tc.path, nil)
		wantStatus(t, r, http.StatusOK)
		if string(r.body) != tc.want {
			t.Fatalf("%s %s: %q, want %q", tc.method, tc.path, r.body, tc.want)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	env := newEnv(t, engines()[0], func(d *Deps) { d.Mounts = testMounts() })
	wantError(t, env.do("GET", "/boom", nil), http.StatusInternalServerError, "internal", "")
	if !strings.Contains(env.logs.String(), "kaboom") || !strings.Contains(env.logs.String(), `"status":500`) {
		t.Fatalf("panic not logged:\n%s", env.logs.String())
	}
	// The server still works.
	wantStatus(t, env.do("GET", "/healthz", nil), http.StatusOK)
}

func TestNoRoute(t *testing.T) {
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "web:"+r.URL.Path) })
	env := newEnv(t, engines()[0], func(d *Deps) { d.Web = web })
	r := env.do("GET", "/gig/abc", nil)
	if r.status != 200 || string(r.body) != "web:/gig/abc" {
		t.Fatalf("web fallback: %d %s", r.status, r.body)
	}
	wantError(t, env.do("GET", "/api/nope", nil), http.StatusNotFound, "not_found", "")
	wantError(t, env.do("GET", "/api", nil), http.StatusNotFound, "not_found", "")
	wantError(t, env.do("POST", "/gig/abc", "{}"), http.StatusNotFound, "not_found", "")
	wantError(t, env.do("GET", "/api/gigs/aaaaaaaaaaaaaaaa", nil), http.StatusNotFound, "not_found", "")
	wantError(t, env.do("GET", "/api/gigs/..%2F..%2Fetc", nil), http.StatusNotFound, "not_found", "")

	bare := newEnv(t, engines()[0], nil)
	wantError(t, bare.do("GET", "/", nil), http.StatusNotFound, "not_found", "")
}

func TestHealth(t *testing.T) {
	env := newEnv(t, engines()[0], nil)
	wantStatus(t, env.do("GET", "/healthz", nil), http.StatusOK)
	wantStatus(t, env.do("GET", "/readyz", nil), http.StatusOK)
}

func TestCORS(t *testing.T) {
	env := newEnv(t, engines()[0], func(d *Deps) {
		d.CORSOrigins = []string{"https://player.example"}
		d.Mounts = testMounts()
	})
	pre := []string{"Origin", "https://player.example", "Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "authorization, content-type"}
	r := env.do("OPTIONS", "/api/gigs/abc", nil, pre...)
	wantStatus(t, r, http.StatusNoContent)
	if r.header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "authorization") {
		t.Fatalf("preflight headers: %v", r.header)
	}
	// A mount with its own OPTIONS handler still answers (WHIP ICE servers).
	r = env.do("OPTIONS", "/whip/abc", nil, pre...)
	if r.header.Get("Link") == "" || r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("WHIP OPTIONS lost: %d %v", r.status, r.header)
	}
	r = env.do("GET", "/api/gigs", nil, "Origin", "https://player.example")
	if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("expose headers: %v", r.header)
	}
	r = env.do("GET", "/api/gigs", nil, "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed an unknown origin")
	}
}

// TestOpenAPIMatchesRoutes keeps the document and the router in step: every
// registered route is documented, and every documented route exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	mounts := testMounts()
	router := NewRouter(Deps{Store: nil, Mounts: mounts})
	env := newEnv(t, engines()[0], func(d *Deps) { d.Mounts = mounts })
	r := env.do("GET", "/api/openapi.json", nil)
	wantStatus(t, r, http.StatusOK)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	r.json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	for _, s := range []string{"Gig", "GigInput", "GigPatch", "Error", "CreateResponse", "ListResponse"} {
		if doc.Components.Schemas[s] == nil {
			t.Fatalf("schema %s missing", s)
		}
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range router.Routes() {
		p, _ := openAPIPath(rt.Path)
		registered[rt.Method+" "+p] = true
	}
	var missing, stale []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing)+len(stale) > 0 {
		t.Fatalf("routes not documented: %v; documented but not routed: %v", missing, stale)
	}
	if !documented["GET /live/{file}"] || !documented["PATCH /api/gigs/{id}"] {
		t.Fatalf("expected entries missing: %v", documented)
	}
}

// TestSecretsNeverLeak checks list and get bodies and every log line.
func TestSecretsNeverLeak(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newEnv(t, e, nil)
		g := env.create("A", testStart, "Music")
		secrets := []string{g.Credentials.StreamKey, g.Credentials.ManageToken}
		tok := g.Credentials.ManageToken
		bodies := []response{
			env.do("GET", "/api/gigs", nil),
			env.do("GET", "/api/gigs/"+g.ID, nil),
			env.do("PATCH", "/api/gigs/"+g.ID, map[string]any{"title": "B"}, bearer(tok)...),
			env.do("PATCH", "/api/gigs/"+g.ID, map[string]any{"title": ""}, bearer(tok)...),
			env.do("PATCH", "/api/gigs/"+g.ID, map[string]any{"title": "C"}, bearer(tok+"x")...),
			env.do("GET", "/api/gigs/"+g.ID+"/stream?token="+tok, nil),
			env.do("GET", "/nowhere/"+tok, nil),
		}
		rot := env.do("POST", "/api/gigs/"+g.ID+"/stream-key", nil, bearer(tok)...)
		var sk StreamKeyResponse
		rot.json(t, &sk)
		secrets = append(secrets, sk.StreamKey)
		bodies = append(bodies, env.do("GET", "/api/gigs?limit=1", nil))
		for _, b := range bodies {
			for _, s := range secrets {
				if strings.Contains(string(b.body), s) {
					t.Fatalf("secret in response body: %s", b.body)
				}
			}
			if strings.Contains(string(b.body), "sha256") || strings.Contains(string(b.body), "credentials") {
				t.Fatalf("secret material in body: %s", b.body)
			}
		}
		time.Sleep(10 * time.Millisecond) // the last log line is written after the response
		logs := env.logs.String()
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Fatalf("secret in logs:\n%s", logs)
			}
		}
		if strings.Contains(strings.ToLower(logs), "authorization") || strings.Contains(logs, "Bearer") {
			t.Fatalf("auth header in logs:\n%s", logs)
		}
		if !strings.Contains(logs, `"route":"/api/gigs/:id"`) || !strings.Contains(logs, `"status":403`) {
			t.Fatalf("request log lacks route/status:\n%s", logs)
		}
	})
}

// TestRedisDown503 stops Redis under the server: requests answer 503 fast,
// /healthz stays 200, and everything recovers when Redis returns.
func TestRedisDown503(t *testing.T) {
	env := newEnv(t, engines()[1], nil)
	g := env.create("A", testStart, "Music")
	env.redis.Stop()
	calls := []struct {
		method, path string
		body         any
		hdr          []string
	}{
		{"GET", "/api/gigs", nil, nil},
		{"GET", "/api/gigs/" + g.ID, nil, nil},
		{"POST", "/api/gigs", gigInput("B", testStart, "Music"), nil},
		{"PATCH", "/api/gigs/" + g.ID, map[string]any{"title": "x"}, bearer(g.Credentials.ManageToken)},
		{"DELETE", "/api/gigs/" + g.ID, nil, bearer(g.Credentials.ManageToken)},
		{"GET", "/readyz", nil, nil},
	}
	for _, c := range calls {
		start := time.Now()
		r := env.do(c.method, c.path, c.body, c.hdr...)
		wantError(t, r, http.StatusServiceUnavailable, "unavailable", "")
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s %s took %v with Redis down", c.method, c.path, d)
		}
		if r.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
	wantStatus(t, env.do("GET", "/healthz", nil), http.StatusOK)
	env.redis.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for env.do("GET", "/readyz", nil).status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("readyz did not recover")
		}
		time.Sleep(50 * time.Millisecond)
	}
	env.create("C", testStart, "Music")
}

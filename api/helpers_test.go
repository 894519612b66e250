package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/syncbuf"
	"github.com/bookmygig/bookmygig/store"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	m.Run()
}

// engine makes a fresh store of one kind for a test.
type engine struct {
	name string
	new  func(t testing.TB) (store.Store, *redistest.Server)
}

func engines() []engine {
	return []engine{
		{"memory", func(t testing.TB) (store.Store, *redistest.Server) { return store.NewMemory(), nil }},
		{"redis", func(t testing.TB) (store.Store, *redistest.Server) {
			srv := redistest.Start(t)
			s, err := store.NewRedis(context.Background(), store.RedisConfig{URL: srv.URL()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s, srv
		}},
	}
}

// forEachEngine runs fn once per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { fn(t, e) })
	}
}

// testEnv is a router on a real HTTP server with captured logs.
type testEnv struct {
	t     *testing.T
	srv   *httptest.Server
	store store.Store
	redis *redistest.Server
	logs  *syncbuf.Buffer
}

func newEnv(t *testing.T, e engine, tweak func(*Deps)) *testEnv {
	t.Helper()
	st, rs := e.new(t)
	logs := &syncbuf.Buffer{}
	d := Deps{Store: st, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tweak != nil {
		tweak(&d)
	}
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, store: st, redis: rs, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.status, err, r.body)
	}
}

// errBody decodes the error shape and checks there is nothing else in it.
func (r response) errBody(t *testing.T) httperr.Detail {
	t.Helper()
	var e struct {
		Error *httperr.Detail `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not the error shape (%v): %s", err, r.body)
	}
	return *e.Error
}

// do sends a request; body may be a string (sent as is) or a value (JSON).
func (env *testEnv) do(method, path string, body any, hdr ...string) response {
	env.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			env.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, env.srv.URL+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

func wantError(t *testing.T, r response, status int, code, field string) {
	t.Helper()
	wantStatus(t, r, status)
	e := r.errBody(t)
	if e.Code != code || e.Field != field {
		t.Fatalf("error %+v, want code %q field %q", e, code, field)
	}
}

var testStart = time.Date(2030, 6, 1, 18, 0, 0, 0, time.UTC)

func gigInput(title string, start time.Time, cat string) map[string]any {
	return map[string]any{
		"creator_name":    "Grace Hopper",
		"title":           title,
		"description":     "A show.\nWith lines.",
		"category":        cat,
		"price_minor":     2500,
		"currency":        "EUR",
		"starts_at":       start.Format(time.RFC3339),
		"ends_at":         start.Add(time.Hour).Format(time.RFC3339),
		"payment_pointer": "$wallet.example/grace",
	}
}

func (env *testEnv) create(title string, start time.Time, cat string) CreateResponse {
	env.t.Helper()
	r := env.do("POST", "/api/gigs", gigInput(title, start, cat))
	wantStatus(env.t, r, http.StatusCreated)
	var cr CreateResponse
	r.json(env.t, &cr)
	return cr
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// flushRedis is for tests that reuse one server.
func flushRedis(t *testing.T, addr string) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

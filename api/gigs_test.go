package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/store"
)

func TestGigLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newEnv(t, e, nil)
		r := env.do("POST", "/api/gigs", gigInput("Night Show", testStart, "music"))
		wantStatus(t, r, http.StatusCreated)
		var cr CreateResponse
		r.json(t, &cr)
		c := cr.Credentials
		if !strings.HasPrefix(c.StreamKey, "sk_") || !strings.HasPrefix(c.ManageToken, "mt_") ||
			c.WHIPPath != "/whip/"+cr.ID || !strings.HasSuffix(c.RTMPURL, ":1935/live") || !strings.HasPrefix(c.RTMPURL, "rtmp://127.0.0.1") {
			t.Fatalf("credentials: %+v", c)
		}
		if r.header.Get("Location") != "/api/gigs/"+cr.ID || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers: %v", r.header)
		}
		if cr.Category != "Music" || cr.Currency != "EUR" || cr.Status != store.StatusScheduled || cr.Viewers != 0 {
			t.Fatalf("created gig: %+v", cr.Gig)
		}

		r = env.do("GET", "/api/gigs/"+cr.ID, nil)
		wantStatus(t, r, http.StatusOK)
		var got store.Gig
		r.json(t, &got)
		if got.ID != cr.ID || got.Title != "Night Show" || !got.StartsAt.Equal(testStart) {
			t.Fatalf("get: %+v", got)
		}

		r = env.do("PATCH", "/api/gigs/"+cr.ID, map[string]any{"title": "Late Night Show", "price_minor": 0}, bearer(c.ManageToken)...)
		wantStatus(t, r, http.StatusOK)
		r.json(t, &got)
		if got.Title != "Late Night Show" || got.PriceMinor != 0 || got.Description != "A show.\nWith lines." {
			t.Fatalf("patched: %+v", got)
		}
		// merge-patch content type is accepted too.
		r = env.do("PATCH", "/api/gigs/"+cr.ID, `{"description":"new"}`, append(bearer(c.ManageToken), "Content-Type", "application/merge-patch+json; charset=utf-8")...)
		wantStatus(t, r, http.StatusOK)

		r = env.do("POST", "/api/gigs/"+cr.ID+"/stream-key", nil, bearer(c.ManageToken)...)
		wantStatus(t, r, http.StatusOK)
		var sk StreamKeyResponse
		r.json(t, &sk)
		if sk.StreamKey == c.StreamKey || !strings.HasPrefix(sk.StreamKey, "sk_") {
			t.Fatalf("rotated key: %q", sk.StreamKey)
		}
		if id, err := env.store.ResolveStreamKey(context.Background(), sk.StreamKey); err != nil || id != cr.ID {
			t.Fatalf("new key does not resolve: %v", err)
		}

		r = env.do("DELETE", "/api/gigs/"+cr.ID, nil, bearer(c.ManageToken)...)
		wantStatus(t, r, http.StatusNoContent)
		wantError(t, env.do("GET", "/api/gigs/"+cr.ID, nil), http.StatusNotFound, "not_found", "")
		wantError(t, env.do("DELETE", "/api/gigs/"+cr.ID, nil, bearer(c.ManageToken)...), http.StatusNotFound, "not_found", "")
	})
}

func TestAuth(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newEnv(t, e, nil)
		g := env.create("A", testStart, "Comedy")
		other := env.create("B", testStart, "Comedy")
		routes := []struct{ method, path string }{
			{"PATCH", "/api/gigs/" + g.ID},
			{"DELETE", "/api/gigs/" + g.ID},
			{"POST", "/api/gigs/" + g.ID + "/stream-key"},
		}
		for _, rt := range routes {
			body := any(nil)
			if rt.method == "PATCH" {
				body = map[string]any{"title": "hacked"}
			}
			r := env.do(rt.method, rt.path, body)
			wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: no WWW-Authenticate", rt.method, rt.path)
			}
			wantError(t, env.do(rt.method, rt.path, body, "Authorization", "Basic "+g.Credentials.ManageToken), http.StatusUnauthorized, "unauthorized", "")
			wantError(t, env.do(rt.method, rt.path, body, "Authorization", "Bearer "), http.StatusUnauthorized, "unauthorized", "")
			wantError(t, env.do(rt.method, rt.path, body, bearer("mt_wrong")...), http.StatusForbidden, "forbidden", "")
			wantError(t, env.do(rt.method, rt.path, body, bearer(other.Credentials.ManageToken)...), http.StatusForbidden, "forbidden", "")
			wantError(t, env.do(rt.method, rt.path, body, bearer(g.Credentials.StreamKey)...), http.StatusForbidden, "forbidden", "")
		}
		wantError(t, env.do("DELETE", "/api/gigs/aaaaaaaaaaaaaaaa", nil, bearer(g.Credentials.ManageToken)...), http.StatusNotFound, "not_found", "")
		// Nothing changed.
		var got store.Gig
		env.do("GET", "/api/gigs/"+g.ID, nil).json(t, &got)
		if got.Title != "A" {
			t.Fatal("an unauthorized request changed the gig")
		}
		// Scheme is case-insensitive (RFC 6750).
		wantStatus(t, env.do("PATCH", "/api/gigs/"+g.ID, map[string]any{"title": "ok"}, "Authorization", "bearer "+g.Credentials.ManageToken), http.StatusOK)
	})
}

func TestRequestBodyErrors(t *testing.T) {
	env := newEnv(t, engines()[0], nil)
	g := env.create("A", testStart, "Comedy")
	auth := bearer(g.Credentials.ManageToken)
	big := `{"description":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`
	valid := gigInput("T", testStart, "Dance")
	cases := []struct {
		name          string
		method, path  string
		body          string
		hdr           []string
		status        int
		code, field   string
		messageSubstr string
	}{
		{"text/plain", "POST", "/api/gigs", `{}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "", ""},
		{"no content type", "POST", "/api/gigs", `{}`, []string{"Content-Type", ""}, 415, "unsupported_media_type", "", ""},
		{"form", "PATCH", "/api/gigs/" + g.ID, `title=x`, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, auth...), 415, "unsupported_media_type", "", ""},
		{"too large", "POST", "/api/gigs", big, nil, 413, "body_too_large", "", ""},
		{"too large patch", "PATCH", "/api/gigs/" + g.ID, big, auth, 413, "body_too_large", "", ""},
		{"unknown field", "POST", "/api/gigs", `{"titel":"x"}`, nil, 400, "validation_failed", "titel", "unknown"},
		{"unknown field patch", "PATCH", "/api/gigs/" + g.ID, `{"status":"live"}`, auth, 400, "validation_failed", "status", "unknown"},
		{"server field", "POST", "/api/gigs", `{"id":"x"}`, nil, 400, "validation_failed", "id", "unknown"},
		{"bad json", "POST", "/api/gigs", `{"title":`, nil, 400, "bad_request", "", "JSON"},
		{"syntax", "POST", "/api/gigs", `{"title" "x"}`, nil, 400, "bad_request", "", "byte"},
		{"empty", "POST", "/api/gigs", ``, nil, 400, "bad_request", "", "empty"},
		{"array", "POST", "/api/gigs", `[1,2]`, nil, 400, "bad_request", "", "object"},
		{"trailing", "POST", "/api/gigs", `{}{}`, nil, 400, "bad_request", "", "one JSON object"},
		{"price type", "POST", "/api/gigs", `{"price_minor":"12.50"}`, nil, 400, "validation_failed", "price_minor", "integer"},
		{"price float", "PATCH", "/api/gigs/" + g.ID, `{"price_minor":12.5}`, auth, 400, "validation_failed", "price_minor", "integer"},
		{"title type", "PATCH", "/api/gigs/" + g.ID, `{"title":5}`, auth, 400, "validation_failed", "title", "string"},
		{"validation", "POST", "/api/gigs", jsonOf(t, with(valid, "title", "")), nil, 400, "validation_failed", "title", "characters"},
		{"end before start", "POST", "/api/gigs", jsonOf(t, with(valid, "ends_at", testStart.Add(-time.Hour).Format(time.RFC3339))), nil, 400, "validation_failed", "ends_at", "after"},
		{"bad category", "POST", "/api/gigs", jsonOf(t, with(valid, "category", "Opera")), nil, 400, "validation_failed", "category", "Comedy"},
		{"patch revalidates", "PATCH", "/api/gigs/" + g.ID, `{"ends_at":"2000-01-01T00:00:00Z"}`, auth, 400, "validation_failed", "ends_at", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do(tc.method, tc.path, tc.body, tc.hdr...)
			wantError(t, r, tc.status, tc.code, tc.field)
			if e := r.errBody(t); !strings.Contains(e.Message, tc.messageSubstr) {
				t.Fatalf("message %q lacks %q", e.Message, tc.messageSubstr)
			}
		})
	}
	// A body over the limit without Content-Length (chunked) is cut too.
	req, _ := http.NewRequest("POST", env.srv.URL+"/api/gigs", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	res, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked big body: %d", res.StatusCode)
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListOverHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newEnv(t, e, func(d *Deps) { d.Viewers = fixedViewers(7) })
		var ids []string
		for i := 0; i < 7; i++ {
			cat := "Music"
			if i%2 == 1 {
				cat = "Dance"
			}
			ids = append(ids, env.create(fmt.Sprintf("g%d", i), testStart.Add(time.Duration(i)*time.Hour), cat).ID)
		}
		// The last gig goes live: it lists first.
		if err := env.store.SetStatus(context.Background(), ids[6], store.StatusLive, testStart); err != nil {
			t.Fatal(err)
		}
		want := append([]string{ids[6]}, ids[:6]...)
		var walked []string
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			q := url.Values{"limit": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			r := env.do("GET", "/api/gigs?"+q.Encode(), nil)
			wantStatus(t, r, http.StatusOK)
			var lr ListResponse
			r.json(t, &lr)
			for _, g := range lr.Gigs {
				walked = append(walked, g.ID)
				if g.Viewers != 7 {
					t.Fatalf("viewers %d, want 7 from the counter", g.Viewers)
				}
			}
			if cursor = lr.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(walked, ",") != strings.Join(want, ",") {
			t.Fatalf("walked %v, want %v", walked, want)
		}
		filters := []struct {
			query string
			want  int
		}{
			{"category=dance", 3},
			{"status=live", 1},
			{"status=scheduled&category=Music", 3},
			{"from=" + testStart.Add(2*time.Hour).Format(time.RFC3339) + "&to=" + testStart.Add(4*time.Hour).Format(time.RFC3339), 2},
		}
		for _, f := range filters {
			r := env.do("GET", "/api/gigs?"+f.query, nil)
			wantStatus(t, r, http.StatusOK)
			var lr ListResponse
			r.json(t, &lr)
			if len(lr.Gigs) != f.want {
				t.Fatalf("%s: %d gigs, want %d", f.query, len(lr.Gigs), f.want)
			}
		}
		bad := []struct{ query, field string }{
			{"status=paused", "status"}, {"category=Opera", "category"}, {"limit=0", "limit"}, {"limit=abc", "limit"},
			{"limit=1000", "limit"}, {"from=yesterday", "from"}, {"to=2030-13-01", "to"}, {"cursor=xyz", "cursor"},
		}
		for _, b := range bad {
			wantError(t, env.do("GET", "/api/gigs?"+b.query, nil), http.StatusBadRequest, "validation_failed", b.field)
		}
		// An empty result is an empty array, not null.
		r := env.do("GET", "/api/gigs?status=ended", nil)
		if !strings.Contains(string(r.body), `"gigs":[]`) {
			t.Fatalf("empty list body: %s", r.body)
		}
	})
}

type fixedViewers int

func (f fixedViewers) Viewers(string) int { return int(f) }

func TestDeleteLiveGigConflicts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		env := newEnv(t, e, nil)
		g := env.create("A", testStart, "Play")
		if err := env.store.SetStatus(context.Background(), g.ID, store.StatusLive, testStart); err != nil {
			t.Fatal(err)
		}
		wantError(t, env.do("DELETE", "/api/gigs/"+g.ID, nil, bearer(g.Credentials.ManageToken)...), http.StatusConflict, "conflict", "")
	})
}

func TestStreamInfo(t *testing.T) {
	// Only the gig named live is; gig IDs are random, so the test never
	// guesses from their shape which one it is.
	var live sync.Map
	env := newEnv(t, engines()[0], func(d *Deps) {
		d.StreamInfo = func(id string) (any, bool) {
			if _, ok := live.Load(id); !ok {
				return nil, false
			}
			return map[string]any{"video": "h264", "gig": id}, true
		}
	})
	g := env.create("A", testStart, "Play")
	live.Store(g.ID, true)
	r := env.do("GET", "/api/gigs/"+g.ID+"/stream", nil)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"video":"h264"`) {
		t.Fatalf("stream info: %s", r.body)
	}
	offAir := env.create("C", testStart, "Play")
	r = env.do("GET", "/api/gigs/"+offAir.ID+"/stream", nil)
	wantError(t, r, http.StatusNotFound, "not_found", "")
	if !strings.Contains(r.errBody(t).Message, "not live") {
		t.Fatalf("off-air message: %s", r.body)
	}
	wantError(t, env.do("GET", "/api/gigs/aaaaaaaaaaaaaaaa/stream", nil), http.StatusNotFound, "not_found", "")

	noInfo := newEnv(t, engines()[0], nil)
	g2 := noInfo.create("B", testStart, "Play")
	r = noInfo.do("GET", "/api/gigs/"+g2.ID+"/stream", nil)
	wantError(t, r, http.StatusNotFound, "not_found", "")
	if !strings.Contains(r.errBody(t).Message, "not live") {
		t.Fatalf("message: %s", r.body)
	}
}

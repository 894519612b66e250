// Package web serves the embedded, pre-built front-end (web/dist, built by
// `npm run build` in this folder).
//
// Hashed assets under /assets/ are cached for a year (their names change
// when their content does); index.html is never cached so a new release is
// picked up on the next load. Paths that name no file and look like a page
// (no extension) get index.html, so client-side routes such as /gig/{id}
// survive a reload.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Config tunes the pages' security headers.
type Config struct {
	// FrameAncestors lists who may show the pages in a frame, in CSP
	// syntax ("'self'", "https://partner.example"); empty means 'self'.
	FrameAncestors []string
	// ConnectSources, if set, returns more origins the pages may connect
	// to (CSP connect-src) besides their own: the other nodes of a cluster,
	// where a full node steers WebRTC offers (307). Asked per page load.
	ConnectSources func() []string
}

// Handler returns the handler for the built front-end.
func Handler(cfg Config) http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path; "dist" is a constant.
		return notBuilt{}
	}
	return newHandler(sub, cfg)
}

// contentSecurityPolicy allows the app's own scripts, styles and
// connections only (no inline script, no eval, no plug-ins), media from
// MediaSource blobs (FLV playback), and framing by cfg.FrameAncestors, so
// an injected script has nowhere to load from or send to and the pages
// cannot be clickjacked.
func contentSecurityPolicy(cfg Config, connect []string) string {
	anc := "'self'"
	if len(cfg.FrameAncestors) > 0 {
		anc = strings.Join(cfg.FrameAncestors, " ")
	}
	src := "'self'"
	for _, c := range connect {
		// Only plain origins: anything else could end the directive.
		if u, err := url.Parse(c); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
			!strings.ContainsAny(u.Host, " ;,'\"") {
			src += " " + u.Scheme + "://" + u.Host
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; " +
		"connect-src " + src + "; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors " + anc
}

// Built reports whether the embedded front-end has an index.html.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// newHandler serves files from root; tests hand it an fstest.MapFS.
func newHandler(root fs.FS, cfg Config) http.Handler {
	return &handler{root: root, files: http.FileServerFS(root), cfg: cfg, csp: contentSecurityPolicy(cfg, nil)}
}

type handler struct {
	root  fs.FS
	files http.Handler
	csp   string
	cfg   Config
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == "index.html" {
		h.index(w, r)
		return
	}
	if st, err := fs.Stat(h.root, name); err == nil && !st.IsDir() {
		if strings.HasPrefix(name, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.files.ServeHTTP(w, r)
		return
	}
	// A missing asset is a real 404 (a stale page asking for an old hash
	// must not get HTML back); a page path gets the app shell.
	if path.Ext(name) != "" || name == "assets" || strings.HasPrefix(name, "assets/") {
		http.NotFound(w, r)
		return
	}
	h.index(w, r)
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(h.root, "index.html")
	if err != nil {
		notBuilt{}.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	csp := h.csp
	if h.cfg.ConnectSources != nil {
		csp = contentSecurityPolicy(h.cfg, h.cfg.ConnectSources())
	}
	w.Header().Set("Content-Security-Policy", csp)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// notBuilt answers when the binary was built without the front-end.
type notBuilt struct{}

func (notBuilt) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(ErrNotBuilt.Error() + "\n"))
}

package web

import "errors"

// ErrNotBuilt reports that dist/ holds no index.html: `npm run build` has not
// run (a fresh clone carries only dist/.gitkeep).
var ErrNotBuilt = errors.New("web: front-end not built (run `make web`)")

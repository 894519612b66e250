package store

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/bookmygig/bookmygig/internal/secret"
)

// position is a gig's place in list order: live gigs first (phase 0), then
// everything else (phase 1); within a phase by start time, then by id. Both
// engines sort by exactly this key, which makes cursors engine-independent.
type position struct {
	phase int
	start int64 // starts_at, unix seconds
	id    string
}

func positionOf(g Gig) position {
	p := position{phase: 1, start: g.StartsAt.Unix(), id: g.ID}
	if g.Status == StatusLive {
		p.phase = 0
	}
	return p
}

func (a position) less(b position) bool {
	if a.phase != b.phase {
		return a.phase < b.phase
	}
	if a.start != b.start {
		return a.start < b.start
	}
	return a.id < b.id
}

// isZero reports whether a is the position before every gig.
func (a position) isZero() bool { return a == position{} }

const cursorVersion = "c1"

// encodeCursor makes an opaque, URL-safe cursor that resumes after p.
func encodeCursor(p position) string {
	raw := cursorVersion + "|" + strconv.Itoa(p.phase) + "|" + strconv.FormatInt(p.start, 10) + "|" + p.id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (position, error) {
	bad := invalid("cursor", "is not a cursor returned by this server")
	if len(s) > 128 {
		return position{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return position{}, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != cursorVersion || !secret.ValidID(parts[3]) {
		return position{}, bad
	}
	phase, err := strconv.Atoi(parts[1])
	if err != nil || (phase != 0 && phase != 1) {
		return position{}, bad
	}
	start, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return position{}, bad
	}
	return position{phase: phase, start: start, id: parts[3]}, nil
}

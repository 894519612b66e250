package ingest

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// secretToken matches a word holding a stream key (sk_), manage token (mt_)
// or ticket (tk_) anywhere in it, up to URL and quoting delimiters: a key
// pasted into the OBS server field arrives inside the app name and tcUrl
// ("live/sk_...", "rtmp://host/live?key=sk_...").
var secretToken = regexp.MustCompile(`(?i)[^\s"'/?&=,;:()\[\]{}<>\\]*(?:sk|mt|tk)_[^\s"'/?&=,;:()\[\]{}<>\\]*`)

// redact removes key (when known) and anything that looks like a secret
// from s. Always redact before truncating: a cut secret no longer matches.
func redact(s, key string) string {
	if key != "" {
		s = strings.ReplaceAll(s, key, "[key]")
	}
	return secretToken.ReplaceAllString(s, "[redacted]")
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

package store

import "unicode/utf8"

// Invisible and direction-changing characters in gig text. A title or a
// creator name is what viewers use to tell shows and people apart, so a
// character that renders as nothing, or that reorders the text around it,
// lets one creator pass for another ("Ada" and "A\u200bda" look the same)
// or make a title read differently from how it is stored (Trojan Source).
//
// The rules:
//   - Bidi embeddings, overrides and isolates (U+202A-U+202E,
//     U+2066-U+2069) are refused in every field: they reorder whole runs of
//     text and the page never needs them (it renders each field with
//     dir="auto").
//   - Zero-width spaces and other invisible formatting (U+200B, U+2060,
//     U+FEFF, U+180E, U+2061-U+2064, U+206A-U+206F, U+FFF9-U+FFFB) are
//     refused in every field.
//   - Bidi marks (U+200E, U+200F, U+061C), the soft hyphen and the blank
//     fillers people use for empty-looking names (U+115F, U+1160, U+3164,
//     U+FFA0, U+2800) are refused in single-line fields (title,
//     creator_name) and allowed in the description, where right-to-left
//     authors legitimately place marks.
//   - The zero-width joiner and non-joiner (U+200C, U+200D) are written in
//     Persian, in Indic scripts and inside emoji sequences (👩‍🎤), so they
//     are allowed between two non-ASCII visible characters and refused
//     elsewhere, which is where they hide inside Latin names.
//   - Tag characters (U+E0000-U+E007F) are invisible and can smuggle text;
//     they are allowed only in an emoji tag sequence (the flags of England,
//     Scotland and Wales: U+1F3F4, tags, U+E007F).
const (
	msgBidi      = "must not contain bidirectional override or isolate characters"
	msgInvisible = "must not contain invisible characters (zero-width spaces, stray joiners, bidi marks, tags)"
)

// checkInvisible applies the rules above to s (already trimmed, valid
// UTF-8). singleLine selects the stricter rules for titles and names.
func checkInvisible(field, s string, singleLine bool) error {
	prev := rune(-1)
	afterFlag, tagOpen := false, false
	for i, r := range s {
		if r >= 0xe0000 && r <= 0xe007f {
			switch {
			case r < 0xe0020 || !(afterFlag || tagOpen):
				return invalid(field, msgInvisible)
			case r == 0xe007f && !tagOpen:
				return invalid(field, msgInvisible) // a cancel tag with no tags
			}
			tagOpen, afterFlag = r != 0xe007f, false
			prev = r
			continue
		}
		if tagOpen {
			return invalid(field, msgInvisible) // tags must end with U+E007F
		}
		switch {
		case isBidiControl(r):
			return invalid(field, msgBidi)
		case isInvisible(r), singleLine && isInvisibleInName(r):
			return invalid(field, msgInvisible)
		case r == '\u200c' || r == '\u200d':
			next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			if !joinable(prev) || !joinable(next) {
				return invalid(field, msgInvisible)
			}
		}
		afterFlag = r == 0x1f3f4
		prev = r
	}
	if tagOpen {
		return invalid(field, msgInvisible)
	}
	return nil
}

// isBidiControl reports embeddings, overrides and isolates.
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// isInvisible reports formatting characters with no legitimate use in
// gig text.
func isInvisible(r rune) bool {
	switch {
	case r == '\u200b', r == '\u2060', r == '\ufeff', r == '\u180e':
		return true
	case r >= '\u2061' && r <= '\u2064', r >= '\u206a' && r <= '\u206f', r >= '\ufff9' && r <= '\ufffb':
		return true
	}
	return false
}

// isInvisibleInName reports characters that are fine in running text but
// render as nothing in a one-line name.
func isInvisibleInName(r rune) bool {
	switch r {
	case '\u200e', '\u200f', '\u061c', '\u00ad', '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800':
		return true
	}
	return false
}

// joinable reports whether a joiner may stand next to r: a visible
// non-ASCII character (a letter of a joining script, an emoji, a variation
// selector), not the start or end of the text, nor another invisible.
func joinable(r rune) bool {
	return r >= 0x80 && r != utf8.RuneError && r != '\u200c' && r != '\u200d' &&
		!isBidiControl(r) && !isInvisible(r) && !isInvisibleInName(r) && !(r >= 0xe0000 && r <= 0xe007f)
}

package ticket

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldError is invalid input in one field of a request; the API answers it
// 400 validation_failed naming Field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "ticket: " + e.Field + ": " + e.Message }

func fieldErr(field, msg string) *FieldError { return &FieldError{Field: field, Message: msg} }

// ValidateHolder trims h and checks it: a name of 1..MaxNameLen characters
// without control characters, and a plausible email address (a bare
// addr-spec with a dotted domain) of at most MaxEmailLen characters. The
// error is a *FieldError naming "name" or "email".
func ValidateHolder(h Holder) (Holder, error) {
	h.Name = strings.TrimSpace(h.Name)
	h.Email = strings.TrimSpace(h.Email)
	switch {
	case !utf8.ValidString(h.Name):
		return Holder{}, fieldErr("name", "must be valid UTF-8")
	case h.Name == "":
		return Holder{}, fieldErr("name", "is required")
	case utf8.RuneCountInString(h.Name) > MaxNameLen:
		return Holder{}, fieldErr("name", "must be at most 80 characters")
	case strings.IndexFunc(h.Name, unicode.IsControl) >= 0:
		return Holder{}, fieldErr("name", "must not contain control characters")
	}
	if err := checkEmail(h.Email); err != nil {
		return Holder{}, err
	}
	return h, nil
}

func checkEmail(e string) error {
	switch {
	case e == "":
		return fieldErr("email", "is required")
	case !utf8.ValidString(e):
		return fieldErr("email", "must be valid UTF-8")
	case utf8.RuneCountInString(e) > MaxEmailLen:
		return fieldErr("email", "must be at most 254 characters")
	case strings.IndexFunc(e, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return fieldErr("email", "must not contain spaces or control characters")
	}
	// A bare address only: "Ada <ada@example.com>" parses, but is not what
	// the field is for.
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return fieldErr("email", "must be an email address like name@example.com")
	}
	at := strings.LastIndexByte(e, '@')
	domain := e[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.HasPrefix(domain, "[") {
		return fieldErr("email", "must be an email address like name@example.com")
	}
	return nil
}

package store

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Validate checks every field of in and reports the first problem as a
// *ValidationError naming the field.
func (in GigInput) Validate() error {
	_, err := in.normalize()
	return err
}

// normalize validates in and returns the gig fields in canonical form
// (trimmed text, canonical category, upper-case currency, UTC times at second
// precision). Server fields are left zero.
func (in GigInput) normalize() (Gig, error) {
	var g Gig
	var err error
	if g.CreatorName, err = checkText("creator_name", in.CreatorName, 1, MaxCreatorNameLen, false); err != nil {
		return Gig{}, err
	}
	if g.Title, err = checkText("title", in.Title, 1, MaxTitleLen, false); err != nil {
		return Gig{}, err
	}
	if g.Description, err = checkText("description", in.Description, 0, MaxDescriptionLen, true); err != nil {
		return Gig{}, err
	}
	if g.Category, err = ParseCategory(in.Category); err != nil {
		return Gig{}, err
	}
	if in.PriceMinor < 0 || in.PriceMinor > MaxPriceMinor {
		return Gig{}, invalid("price_minor", "must be between 0 and "+strconv.Itoa(MaxPriceMinor)+" (minor units, e.g. cents)")
	}
	g.PriceMinor = in.PriceMinor
	if g.Currency, err = checkCurrency(in.Currency, in.PriceMinor); err != nil {
		return Gig{}, err
	}
	if g.StartsAt, err = checkTime("starts_at", in.StartsAt); err != nil {
		return Gig{}, err
	}
	if g.EndsAt, err = checkTime("ends_at", in.EndsAt); err != nil {
		return Gig{}, err
	}
	if !g.EndsAt.After(g.StartsAt) {
		return Gig{}, invalid("ends_at", "must be after starts_at")
	}
	if g.EndsAt.Sub(g.StartsAt) > MaxDuration {
		return Gig{}, invalid("ends_at", "must be at most 7 days after starts_at")
	}
	if g.PaymentPointer, err = checkPaymentPointer(in.PaymentPointer); err != nil {
		return Gig{}, err
	}
	if g.Access, err = checkAccess(in.Access, in.PriceMinor); err != nil {
		return Gig{}, err
	}
	if in.Capacity < 0 || in.Capacity > MaxCapacity {
		return Gig{}, invalid("capacity", "must be between 0 (unlimited) and "+strconv.Itoa(MaxCapacity)+" seats")
	}
	g.Capacity = in.Capacity
	return g, nil
}

// ParseCategory accepts a category name in any letter case and returns its
// canonical spelling.
func ParseCategory(s string) (Category, error) {
	for _, c := range Categories() {
		if strings.EqualFold(s, string(c)) {
			return c, nil
		}
	}
	names := make([]string, 0, 6)
	for _, c := range Categories() {
		names = append(names, string(c))
	}
	return "", invalid("category", "must be one of "+strings.Join(names, ", "))
}

// checkText trims s and checks its length in code points and that it holds
// no control characters (multiline allows newlines and tabs).
func checkText(field, s string, minLen, maxLen int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid(field, "must be valid UTF-8")
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < minLen || n > maxLen {
		if minLen > 0 {
			return "", invalid(field, "must be "+strconv.Itoa(minLen)+"-"+strconv.Itoa(maxLen)+" characters")
		}
		return "", invalid(field, "must be at most "+strconv.Itoa(maxLen)+" characters")
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", invalid(field, "must not contain control characters")
		}
	}
	if err := checkInvisible(field, s, !multiline); err != nil {
		return "", err
	}
	return s, nil
}

// checkCurrency wants a circulating ISO 4217 code (see iso4217.go). A free
// gig may omit it.
func checkCurrency(s string, price int64) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" && price == 0 {
		return "", nil
	}
	if len(s) != 3 {
		return "", invalid("currency", "must be a 3-letter ISO 4217 code (required when price_minor > 0)")
	}
	if !ValidCurrency(s) {
		return "", invalid("currency", "must be an ISO 4217 currency code in use, such as USD or EUR")
	}
	return s, nil
}

// PastStartGrace is how far in the past a new start time may be: a creator
// who lists a show and goes live at once is a few minutes "late" by the
// time the form is sent.
const PastStartGrace = 10 * time.Minute

// checkNotPast refuses a start time more than PastStartGrace before now.
// It runs on input only (Create, and a patch that moves starts_at), never
// on a stored gig, so a show that has happened can still be edited.
func checkNotPast(start, now time.Time) error {
	if start.Before(now.Add(-PastStartGrace)) {
		return invalid("starts_at", "must not be in the past")
	}
	return nil
}

func checkTime(field, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, invalid(field, "is required (RFC 3339, e.g. 2026-05-01T20:00:00Z)")
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, invalid(field, "must be an RFC 3339 time, e.g. 2026-05-01T20:00:00Z")
	}
	t = t.UTC().Truncate(time.Second)
	// Far apart enough for any real schedule, and well inside what a Redis
	// sorted-set score (a float64) holds exactly.
	if t.Year() < 2000 || t.Year() >= 2200 {
		return time.Time{}, invalid(field, "must be between the years 2000 and 2199")
	}
	return t, nil
}

// checkAccess reads the access mode: empty means open for a free gig; a
// priced gig is always ticketed (asking for open there is an error, so a
// creator is never surprised by a paywall they did not choose).
func checkAccess(s string, price int64) (Access, error) {
	switch a := Access(strings.ToLower(strings.TrimSpace(s))); {
	case a == "" && price > 0, a == AccessTicket:
		return AccessTicket, nil
	case a == "" || a == AccessOpen:
		if price > 0 {
			return "", invalid("access", "a gig with a price is always ticketed: use access \"ticket\" or price_minor 0")
		}
		return AccessOpen, nil
	}
	return "", invalid("access", "must be open or ticket")
}

// checkPaymentPointer accepts an Interledger payment pointer ($wallet.example/alice)
// or an https URL; both resolve to an https URL with a host, which is what
// is stored (Web Monetization's <link rel="monetization"> takes full URLs
// only).
func checkPaymentPointer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	const why = "must be a payment pointer ($wallet.example/alice) or an https URL"
	if len(s) > MaxPaymentPointerLen {
		return "", invalid("payment_pointer", "must be at most "+strconv.Itoa(MaxPaymentPointerLen)+" characters")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || !utf8.ValidRune(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", invalid("payment_pointer", why)
		}
	}
	raw := s
	if strings.HasPrefix(s, "$") {
		raw = "https://" + s[1:]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Hostname() == "" || u.Opaque != "" {
		return "", invalid("payment_pointer", why)
	}
	if strings.HasPrefix(s, "$") && (u.RawQuery != "" || u.Fragment != "") {
		return "", invalid("payment_pointer", why)
	}
	if u.Path == "" {
		// A bare pointer ($wallet.example) means its well-known path.
		u.Path = "/.well-known/pay"
	}
	return u.String(), nil
}

// input turns a stored gig back into input, so a patch can be validated as
// a whole gig.
func (g Gig) input() GigInput {
	return GigInput{
		CreatorName:    g.CreatorName,
		Title:          g.Title,
		Description:    g.Description,
		Category:       string(g.Category),
		PriceMinor:     g.PriceMinor,
		Currency:       g.Currency,
		StartsAt:       g.StartsAt.Format(time.RFC3339),
		EndsAt:         g.EndsAt.Format(time.RFC3339),
		PaymentPointer: g.PaymentPointer,
		Access:         string(g.Access),
		Capacity:       g.Capacity,
	}
}

// apply returns g with p's fields changed and the result validated. Server
// fields are kept. A patch that moves starts_at must not move it into the
// past (as of now); one that leaves it alone keeps a past start valid.
func (p Patch) apply(g Gig, now time.Time) (Gig, error) {
	in := g.input()
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.CreatorName, p.CreatorName)
	set(&in.Title, p.Title)
	set(&in.Description, p.Description)
	set(&in.Category, p.Category)
	set(&in.Currency, p.Currency)
	set(&in.StartsAt, p.StartsAt)
	set(&in.EndsAt, p.EndsAt)
	set(&in.PaymentPointer, p.PaymentPointer)
	set(&in.Access, p.Access)
	if p.PriceMinor != nil {
		in.PriceMinor = *p.PriceMinor
		if *p.PriceMinor > 0 && p.Access == nil {
			// Pricing a gig makes it ticketed without a second field.
			in.Access = string(AccessTicket)
		}
	}
	if p.Capacity != nil {
		in.Capacity = *p.Capacity
	}
	n, err := in.normalize()
	if err != nil {
		return Gig{}, err
	}
	if p.StartsAt != nil && !n.StartsAt.Equal(g.StartsAt) {
		if err := checkNotPast(n.StartsAt, now); err != nil {
			return Gig{}, err
		}
	}
	n.ID, n.Status, n.CreatedAt, n.UpdatedAt = g.ID, g.Status, g.CreatedAt, g.UpdatedAt
	n.StartedAt, n.EndedAt = g.StartedAt, g.EndedAt
	return n, nil
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p == Patch{}
}

// normalize checks a filter and fills in defaults.
func (f Filter) normalize() (Filter, position, error) {
	if f.Status != "" && !f.Status.Valid() {
		return f, position{}, invalid("status", "must be one of scheduled, live, ended")
	}
	if f.Category != "" {
		c, err := ParseCategory(string(f.Category))
		if err != nil {
			return f, position{}, err
		}
		f.Category = c
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, position{}, invalid("to", "must be after from")
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultPageSize
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return f, position{}, invalid("limit", "must be 1-"+strconv.Itoa(MaxPageSize))
	}
	var after position
	if f.Cursor != "" {
		var err error
		if after, err = decodeCursor(f.Cursor); err != nil {
			return f, position{}, err
		}
	}
	return f, after, nil
}

// matches reports whether g passes the filter's status, category and time
// bounds (not the cursor).
func (f Filter) matches(g Gig) bool {
	if f.Status != "" && g.Status != f.Status {
		return false
	}
	if f.Category != "" && g.Category != f.Category {
		return false
	}
	if !f.From.IsZero() && g.StartsAt.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !g.StartsAt.Before(f.To) {
		return false
	}
	return true
}

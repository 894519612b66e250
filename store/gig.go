package store

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Status is where a gig is in its life: scheduled, live or ended.
type Status string

// The statuses a gig moves through. Only media ingest (through SetStatus)
// moves a gig to live and ended.
const (
	StatusScheduled Status = "scheduled"
	StatusLive      Status = "live"
	StatusEnded     Status = "ended"
)

// Statuses lists every status, in display order.
func Statuses() []Status { return []Status{StatusScheduled, StatusLive, StatusEnded} }

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	return s == StatusScheduled || s == StatusLive || s == StatusEnded
}

// Category is the kind of show, from the original app's list.
type Category string

// The categories a gig can have.
const (
	CategoryComedy    Category = "Comedy"
	CategoryPlay      Category = "Play"
	CategoryDance     Category = "Dance"
	CategoryFitness   Category = "Fitness"
	CategoryMusic     Category = "Music"
	CategoryWorkshops Category = "Workshops"
)

// Categories lists every category, in display order.
func Categories() []Category {
	return []Category{CategoryComedy, CategoryPlay, CategoryDance, CategoryFitness, CategoryMusic, CategoryWorkshops}
}

// Limits on gig fields. Lengths count Unicode code points.
const (
	MaxTitleLen          = 120
	MaxCreatorNameLen    = 80
	MaxDescriptionLen    = 5000
	MaxPaymentPointerLen = 512
	// MaxPriceMinor is 1,000,000.00 in a two-decimal currency: far above any
	// ticket, low enough to catch a price typed in the wrong unit.
	MaxPriceMinor = 100_000_000
	// MaxDuration bounds ends_at - starts_at; a longer gig is a typo.
	MaxDuration = 7 * 24 * time.Hour
	// MaxCapacity bounds a gig's seats; 0 means unlimited.
	MaxCapacity = 1_000_000
)

// Access says who may watch and chat on a gig.
type Access string

// The access modes. A gig with a price is always ticketed.
const (
	AccessOpen   Access = "open"   // anyone with the link
	AccessTicket Access = "ticket" // ticket holders and the creator
)

// Ticketed reports whether the gig needs a ticket to watch and chat.
func (g Gig) Ticketed() bool { return g.Access == AccessTicket }

// Gig is a show as clients see it. It never carries secrets.
//
// Price is an integer amount in the currency's minor unit (cents for USD, yen
// for JPY), so no float rounding ever touches money; 0 means free, and then
// currency may be empty. Times are UTC with second precision.
type Gig struct {
	ID             string    `json:"id"`
	CreatorName    string    `json:"creator_name"`
	Title          string    `json:"title"`
	Description    string    `json:"description"`
	Category       Category  `json:"category"`
	PriceMinor     int64     `json:"price_minor"`
	Currency       string    `json:"currency"`
	StartsAt       time.Time `json:"starts_at"`
	EndsAt         time.Time `json:"ends_at"`
	PaymentPointer string    `json:"payment_pointer,omitempty"`
	// Access is open or ticket; Capacity is the number of seats (0 means
	// unlimited).
	Access   Access `json:"access"`
	Capacity int    `json:"capacity"`
	Status   Status `json:"status"`
	// Viewers is filled by the api from the live viewer counter; the store
	// always returns 0.
	Viewers int `json:"viewers"`
	// TicketsSold and SeatsLeft are filled by the api from the ticket
	// store; SeatsLeft only when the gig has a capacity.
	TicketsSold int       `json:"tickets_sold"`
	SeatsLeft   *int      `json:"seats_left,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// StartedAt and EndedAt are when the live show last started and ended.
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
}

// GigInput is what a creator sends to create a gig. Times are RFC 3339
// strings so that a bad time is reported as a field error, not a JSON error.
type GigInput struct {
	CreatorName    string `json:"creator_name"`
	Title          string `json:"title"`
	Description    string `json:"description"`
	Category       string `json:"category"`
	PriceMinor     int64  `json:"price_minor"`
	Currency       string `json:"currency"`
	StartsAt       string `json:"starts_at"`
	EndsAt         string `json:"ends_at"`
	PaymentPointer string `json:"payment_pointer"`
	// Access is "open" (the default for free gigs) or "ticket" (forced when
	// price_minor > 0).
	Access   string `json:"access"`
	Capacity int    `json:"capacity"`
}

// Patch is a partial update: nil fields stay as they are. An empty
// payment_pointer removes it. The patched gig is validated as a whole.
type Patch struct {
	CreatorName    *string `json:"creator_name"`
	Title          *string `json:"title"`
	Description    *string `json:"description"`
	Category       *string `json:"category"`
	PriceMinor     *int64  `json:"price_minor"`
	Currency       *string `json:"currency"`
	StartsAt       *string `json:"starts_at"`
	EndsAt         *string `json:"ends_at"`
	PaymentPointer *string `json:"payment_pointer"`
	Access         *string `json:"access"`
	Capacity       *int    `json:"capacity"`
}

// Secrets are the gig's credentials, returned once by Create. The stream key
// publishes media (RTMP, WHIP); the manage token is the Bearer token for
// update, delete, key rotation and moderation.
//
// Secrets redacts itself when logged, printed or marshalled, so that a stray
// log line cannot leak it; read the fields explicitly to show them.
type Secrets struct {
	StreamKey   string
	ManageToken string
}

// LogValue keeps secrets out of slog output.
func (Secrets) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String keeps secrets out of fmt output.
func (Secrets) String() string { return "[redacted]" }

// GoString keeps secrets out of %#v output.
func (Secrets) GoString() string { return "store.Secrets{[redacted]}" }

// MarshalJSON keeps secrets out of accidental JSON encoding.
func (Secrets) MarshalJSON() ([]byte, error) { return json.Marshal("[redacted]") }

// Filter selects and pages gigs for List. Zero fields do not filter.
type Filter struct {
	Status   Status
	Category Category
	// From and To bound starts_at: From <= starts_at < To.
	From time.Time
	To   time.Time
	// Cursor is NextCursor from the previous page; empty for the first page.
	Cursor string
	// Limit is the page size, 1..MaxPageSize; 0 means DefaultPageSize.
	Limit int
}

// Page sizes for List.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Page is one page of List results. NextCursor is empty on the last page.
type Page struct {
	Gigs       []Gig
	NextCursor string
}

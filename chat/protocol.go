package chat

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Client frame types.
const (
	typeJoin    = "join"
	typeMessage = "message"
	typeDelete  = "delete"
	typeMute    = "mute"
	typeBan     = "ban"
	typeUnban   = "unban"
	typeSlow    = "slow"
)

// Error codes sent in {"type":"error"} frames.
const (
	codeBadRequest    = "bad_request"
	codeTooLarge      = "too_large"
	codeInvalidName   = "invalid_name"
	codeInvalidText   = "invalid_text"
	codeNotJoined     = "not_joined"
	codeAlreadyJoined = "already_joined"
	codeRateLimited   = "rate_limited"
	codeSlowMode      = "slow_mode"
	codeMuted         = "muted"
	codeBanned        = "banned"
	codeForbidden     = "forbidden"
	codeUnauthorized  = "unauthorized"
	codeTooManyConns  = "too_many_connections"
	codeUnavailable   = "unavailable"
	// codeModerationNotSaved: a moderation action holds on the creator's
	// node but could not be stored for the others (broker down).
	codeModerationNotSaved = "moderation_not_saved"
	maxNameRunes           = 32
	maxModerationSecs      = 7 * 24 * 3600
	maxSlowModeSeconds     = 3600
	maxIDLen               = 64
)

// clientMessage is one decoded, validated client frame.
type clientMessage struct {
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
	Token    string `json:"token,omitempty"`
	Ticket   string `json:"ticket,omitempty"`
	Guest    string `json:"guest,omitempty"`
	Watching bool   `json:"watching,omitempty"`
	Text     string `json:"text,omitempty"`
	ID       string `json:"id,omitempty"`
	User     string `json:"user,omitempty"`
	Seconds  int    `json:"seconds,omitempty"`
}

// protocolError is a refusal told to the client as an error frame.
type protocolError struct {
	code string
	msg  string
}

func (e *protocolError) Error() string { return e.code + ": " + e.msg }

func perr(code, msg string) *protocolError { return &protocolError{code: code, msg: msg} }

// decodeClientMessage parses and validates one client frame. Names and texts
// come back normalized (trimmed). Every failure is a *protocolError.
func decodeClientMessage(data []byte, maxBytes, maxTextRunes int) (clientMessage, error) {
	var m clientMessage
	if len(data) > maxBytes {
		return m, perr(codeTooLarge, "frame too large")
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return clientMessage{}, perr(codeBadRequest, "frame is not a JSON object")
	}
	switch m.Type {
	case typeJoin:
		// With a ticket the name may be left out: on ticketed gigs it
		// comes from the ticket (see client.join).
		if m.Ticket != "" && strings.TrimSpace(m.Name) == "" {
			m.Name = ""
			break
		}
		name, err := validName(m.Name)
		if err != nil {
			return clientMessage{}, err
		}
		m.Name = name
	case typeMessage:
		text, err := validText(m.Text, maxTextRunes)
		if err != nil {
			return clientMessage{}, err
		}
		m.Text = text
	case typeDelete:
		if !validID(m.ID) {
			return clientMessage{}, perr(codeBadRequest, "delete needs a message id")
		}
	case typeMute:
		if !validID(m.User) || m.Seconds < 0 || m.Seconds > maxModerationSecs {
			return clientMessage{}, perr(codeBadRequest, "mute needs a user id and 0-604800 seconds")
		}
	case typeBan, typeUnban:
		if !validID(m.User) {
			return clientMessage{}, perr(codeBadRequest, m.Type+" needs a user id")
		}
	case typeSlow:
		if m.Seconds < 0 || m.Seconds > maxSlowModeSeconds {
			return clientMessage{}, perr(codeBadRequest, "slow needs 0-3600 seconds")
		}
	case "":
		return clientMessage{}, perr(codeBadRequest, "frame has no type")
	default:
		return clientMessage{}, perr(codeBadRequest, "unknown frame type")
	}
	return m, nil
}

// validName trims a display name and refuses empty, long or control-character names.
func validName(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 || n > maxNameRunes {
		return "", perr(codeInvalidName, "name must be 1-32 characters")
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidiControl(r) {
			return "", perr(codeInvalidName, "name must not contain control characters")
		}
	}
	return s, nil
}

// validText trims a message and refuses empty or long texts and control
// characters other than newline and tab.
func validText(s string, maxRunes int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", perr(codeInvalidText, "message is empty")
	}
	if n > maxRunes {
		return "", perr(codeInvalidText, "message is too long")
	}
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidiControl(r) {
			return "", perr(codeInvalidText, "message must not contain control characters")
		}
	}
	return s, nil
}

// isBidiControl reports the explicit direction overrides that let a name or
// text visually rewrite what surrounds it.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Message is one chat message as stored in history and sent to clients.
type Message struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	User    string `json:"user"`
	Name    string `json:"name"`
	Text    string `json:"text"`
	TS      int64  `json:"ts"`
	Creator bool   `json:"creator,omitempty"`
}

type joinedFrame struct {
	Type    string `json:"type"`
	User    string `json:"user"`
	Name    string `json:"name"`
	Creator bool   `json:"creator"`
	// Guest is the guest token the page keeps and sends back in later
	// joins (guests only).
	Guest string `json:"guest,omitempty"`
}

// bansFrame lists the banned user ids of the gig, for the creator.
type bansFrame struct {
	Type  string   `json:"type"`
	Users []string `json:"users"`
}

type historyFrame struct {
	Type     string    `json:"type"`
	Messages []Message `json:"messages"`
}

type systemFrame struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type presenceFrame struct {
	Type    string `json:"type"`
	Viewers int    `json:"viewers"`
}

type deletedFrame struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type moderationFrame struct {
	Type    string `json:"type"`
	Action  string `json:"action"`
	User    string `json:"user,omitempty"`
	Seconds int    `json:"seconds,omitempty"`
}

type errorFrame struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

var restartingFrame = []byte(`{"type":"restarting"}`)

// encode marshals a server frame; the frame types above cannot fail to marshal.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"type":"error","code":"internal","message":"encode failed"}`)
	}
	return b
}

func encodeError(code, msg string, retry time.Duration) []byte {
	f := errorFrame{Type: "error", Code: code, Message: msg}
	if retry > 0 {
		f.RetryAfterMS = retry.Milliseconds()
		if f.RetryAfterMS == 0 {
			f.RetryAfterMS = 1
		}
	}
	return encode(f)
}

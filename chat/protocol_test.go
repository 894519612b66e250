package chat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var decodeCases = []struct {
	name  string
	in    string
	code  string // "" means valid
	field string // expected normalized name or text
}{
	{"join", `{"type":"join","name":"Ann"}`, "", "Ann"},
	{"join trims", `{"type":"join","name":"  Ann  "}`, "", "Ann"},
	{"join 32 runes", `{"type":"join","name":"` + strings.Repeat("é", 32) + `"}`, "", strings.Repeat("é", 32)},
	{"join 33 runes", `{"type":"join","name":"` + strings.Repeat("é", 33) + `"}`, codeInvalidName, ""},
	{"join empty", `{"type":"join","name":"   "}`, codeInvalidName, ""},
	{"join control", `{"type":"join","name":"A\u0007nn"}`, codeInvalidName, ""},
	{"join newline", `{"type":"join","name":"A\nn"}`, codeInvalidName, ""},
	{"join bidi override", `{"type":"join","name":"A\u202enn"}`, codeInvalidName, ""},
	{"join with token", `{"type":"join","name":"Bo","token":"t"}`, "", "Bo"},
	{"join with ticket", `{"type":"join","name":" Bo ","ticket":"tk_x"}`, "", "Bo"},
	{"join ticket, no name", `{"type":"join","ticket":"tk_x"}`, "", ""},
	{"join ticket, blank name", `{"type":"join","name":"  ","ticket":"tk_x"}`, "", ""},
	{"join ticket, bad name", `{"type":"join","name":"A\u0007","ticket":"tk_x"}`, codeInvalidName, ""},
	{"join no name, empty ticket", `{"type":"join","ticket":""}`, codeInvalidName, ""},
	{"message", `{"type":"message","text":" hi <b>there</b> "}`, "", "hi <b>there</b>"},
	{"message multiline", `{"type":"message","text":"a\nb"}`, "", "a\nb"},
	{"message 500 runes", `{"type":"message","text":"` + strings.Repeat("ü", 500) + `"}`, "", strings.Repeat("ü", 500)},
	{"message 501 runes", `{"type":"message","text":"` + strings.Repeat("ü", 501) + `"}`, codeInvalidText, ""},
	{"message empty", `{"type":"message","text":""}`, codeInvalidText, ""},
	{"message control", `{"type":"message","text":"a\u0000b"}`, codeInvalidText, ""},
	{"message invalid utf8", "{\"type\":\"message\",\"text\":\"a\xffb\"}", codeInvalidText, ""},
	{"bad json", `{"type":`, codeBadRequest, ""},
	{"not an object", `[1,2]`, codeBadRequest, ""},
	{"no type", `{"text":"x"}`, codeBadRequest, ""},
	{"unknown type", `{"type":"hack"}`, codeBadRequest, ""},
	{"wrong field type", `{"type":"message","text":5}`, codeBadRequest, ""},
	{"too large", `{"type":"message","text":"` + strings.Repeat("x", 5000) + `"}`, codeTooLarge, ""},
	{"delete", `{"type":"delete","id":"abc123"}`, "", ""},
	{"delete bad id", `{"type":"delete","id":"a b"}`, codeBadRequest, ""},
	{"mute", `{"type":"mute","user":"u_1","seconds":60}`, "", ""},
	{"mute negative", `{"type":"mute","user":"u_1","seconds":-1}`, codeBadRequest, ""},
	{"ban", `{"type":"ban","user":"u_1"}`, "", ""},
	{"ban no user", `{"type":"ban"}`, codeBadRequest, ""},
	{"slow", `{"type":"slow","seconds":10}`, "", ""},
	{"slow too long", `{"type":"slow","seconds":99999}`, codeBadRequest, ""},
}

func TestDecodeClientMessage(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeClientMessage([]byte(tc.in), 4096, 500)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if got := m.Name + m.Text; tc.field != "" && got != tc.field {
					t.Fatalf("normalized to %q, want %q", got, tc.field)
				}
				return
			}
			var pe *protocolError
			if !errors.As(err, &pe) || pe.code != tc.code {
				t.Fatalf("error = %v, want code %s", err, tc.code)
			}
		})
	}
}

// FuzzDecodeClientMessage checks that any input either fails with a
// protocol error or yields a message within the documented limits.
func FuzzDecodeClientMessage(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeClientMessage(data, 4096, 500)
		if err != nil {
			var pe *protocolError
			if !errors.As(err, &pe) || pe.code == "" {
				t.Fatalf("error is not a protocol error: %v", err)
			}
			return
		}
		switch m.Type {
		case typeJoin:
			if m.Name == "" && m.Ticket != "" {
				break // the name comes from the ticket
			}
			if n := utf8.RuneCountInString(m.Name); n < 1 || n > 32 || !utf8.ValidString(m.Name) {
				t.Fatalf("accepted name %q", m.Name)
			}
		case typeMessage:
			if n := utf8.RuneCountInString(m.Text); n < 1 || n > 500 || !utf8.ValidString(m.Text) {
				t.Fatalf("accepted text of %d runes", n)
			}
		case typeDelete, typeMute, typeBan, typeSlow:
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
		// What the server sends back must stay valid JSON.
		out := encode(Message{Type: "message", Name: m.Name, Text: m.Text})
		if !json.Valid(out) {
			t.Fatalf("encoded invalid JSON %q", out)
		}
	})
}

package main

import (
	"reflect"
	"testing"

	"github.com/bookmygig/bookmygig/sfu"
)

func TestParseICEServers(t *testing.T) {
	got := parseICEServers([]string{"stun:stun.example.net:3478", "turn:alice:s3cret@turn.example.net:3478?transport=udp", "turns:bob:pw:with:colons@t.example:5349"})
	want := []sfu.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net:3478?transport=udp"}, Username: "alice", Credential: "s3cret"},
		{URLs: []string{"turns:t.example:5349"}, Username: "bob", Credential: "pw:with:colons"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseICEServers = %+v, want %+v", got, want)
	}
}

func TestGinPath(t *testing.T) {
	for in, want := range map[string]string{
		"/whep/{id}":           "/whep/:id",
		"/whip/{id}/{session}": "/whip/:id/:session",
		"/live/file":           "/live/file",
	} {
		if got := ginPath(in); got != want {
			t.Errorf("ginPath(%q) = %q, want %q", in, got, want)
		}
	}
}

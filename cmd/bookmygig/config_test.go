package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaultsFlagsAndEnv(t *testing.T) {
	cfg, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.RTMPAddr != ":1935" || cfg.Redis != "" || cfg.ShutdownTimeout != 8*time.Second ||
		cfg.OpusComplexity != 10 || cfg.ChatCoalesce != 20*time.Millisecond {
		t.Fatalf("defaults = %+v", cfg)
	}
	if chatCoalesce(0) >= 0 || chatCoalesce(cfg.ChatCoalesce) != 20*time.Millisecond {
		t.Fatal("--chat-coalesce 0 must turn coalescing off")
	}
	cfg, err = parseConfig([]string{"--http-addr", "127.0.0.1:9000"},
		env(map[string]string{"BMG_HTTP_ADDR": ":7000", "BMG_REDIS": "redis://127.0.0.1:6379/0", "BMG_LOG_FORMAT": "json"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9000" {
		t.Fatalf("flag must win over env: %q", cfg.HTTPAddr)
	}
	if cfg.Redis != "redis://127.0.0.1:6379/0" || cfg.LogFormat != "json" {
		t.Fatalf("env fallback not used: %+v", cfg)
	}
}

func TestConfigInvalidValueNamesTheOption(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--http-addr", "nonsense"}, nil, "--http-addr"},
		{nil, map[string]string{"BMG_LOG_FORMAT": "xml"}, "BMG_LOG_FORMAT"},
		{[]string{"--redis", "http://x"}, nil, "--redis"},
		{[]string{"--max-viewers", "-1"}, nil, "--max-viewers"},
		{[]string{"--opus-complexity", "11"}, nil, "--opus-complexity"},
		{[]string{"--chat-coalesce", "2s"}, nil, "--chat-coalesce"},
		{[]string{"--ice-servers", "turn:u:secretpw@h:3478,ftp://x"}, nil, "--ice-servers"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(c.args, env(c.env), &out, &errOut)
			if code != 2 {
				t.Fatalf("exit code = %d, want 2", code)
			}
			msg := errOut.String()
			if !strings.Contains(msg, c.want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Fatalf("error %q: want one line naming %s", msg, c.want)
			}
			if strings.Contains(msg, "secretpw") {
				t.Fatalf("error leaks a secret: %q", msg)
			}
		})
	}
}

func TestHelpDocumentsEveryOption(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, env(nil), &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("--help exit code = %d", code)
	}
	for _, o := range options() {
		if !strings.Contains(out.String(), "--"+o.name) || !strings.Contains(out.String(), o.env) {
			t.Fatalf("--help lacks %s / %s:\n%s", o.name, o.env, out.String())
		}
	}
}

func TestRedactedConfigHidesSecrets(t *testing.T) {
	cfg, err := parseConfig([]string{"--redis", "redis://:hunter2@127.0.0.1:6379/0", "--ice-servers", "turn:alice:s3cret@turn.example:3478"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range cfg.redacted() {
		b.WriteString(strings.TrimSpace(toString(a)))
		b.WriteByte(' ')
	}
	s := b.String()
	if strings.Contains(s, "hunter2") || strings.Contains(s, "s3cret") || strings.Contains(s, "alice") {
		t.Fatalf("redacted config leaks secrets: %s", s)
	}
	if !strings.Contains(s, "turn.example:3478") || !strings.Contains(s, "127.0.0.1:6379") {
		t.Fatalf("redacted config lost the hosts: %s", s)
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		return ""
	}
}

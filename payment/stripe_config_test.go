package payment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/internal/stripemock"
)

func TestNewStripeValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     StripeConfig
		wantErr error // nil: any error; see ok
		ok      bool
	}{
		{"valid", StripeConfig{SecretKey: testKey, WebhookSecret: testWebhookSecret}, nil, true},
		{"restricted key", StripeConfig{SecretKey: "rk_test_1", WebhookSecret: testWebhookSecret}, nil, true},
		{"stripe-mock base", StripeConfig{SecretKey: testKey, WebhookSecret: testWebhookSecret, APIBase: "http://127.0.0.1:12111/"}, nil, true},
		{"empty", StripeConfig{}, ErrNotConfigured, false},
		{"no key", StripeConfig{WebhookSecret: testWebhookSecret}, ErrNotConfigured, false},
		{"no webhook secret", StripeConfig{SecretKey: testKey}, ErrNotConfigured, false},
		{"publishable key", StripeConfig{SecretKey: "pk_test_publishable0123", WebhookSecret: testWebhookSecret}, nil, false},
		{"key with newline", StripeConfig{SecretKey: testKey + "\n", WebhookSecret: testWebhookSecret}, nil, false},
		{"base without scheme", StripeConfig{SecretKey: testKey, WebhookSecret: testWebhookSecret, APIBase: "127.0.0.1:12111"}, nil, false},
		{"ftp base", StripeConfig{SecretKey: testKey, WebhookSecret: testWebhookSecret, APIBase: "ftp://x"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStripe(tt.cfg, nil)
			if tt.ok {
				if err != nil || !Enabled(s) {
					t.Fatalf("NewStripe: %v, enabled %v", err, Enabled(s))
				}
				return
			}
			if err == nil {
				t.Fatal("NewStripe accepted the config")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			for _, secret := range []string{tt.cfg.SecretKey, tt.cfg.WebhookSecret} {
				if secret != "" && strings.Contains(err.Error(), strings.TrimSpace(secret)) {
					t.Fatalf("error quotes a secret: %v", err)
				}
			}
		})
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	cfg := StripeConfig{SecretKey: testKey, WebhookSecret: testWebhookSecret, APIBase: "http://127.0.0.1:12111"}
	s, err := NewStripe(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("config", "stripe", cfg)
	log.Info("config", "stripe_ptr", &cfg, "provider", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "stripe", cfg, "provider", s)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&buf, verb+"\n", cfg)
		fmt.Fprintf(&buf, verb+"\n", &cfg)
		fmt.Fprintf(&buf, verb+"\n", s)
	}
	out := buf.String()
	for _, secret := range []string{testKey, testWebhookSecret} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret printed:\n%s", out)
		}
	}
	if !strings.Contains(out, `"secret_key":"[redacted]"`) || !strings.Contains(out, "api_base=http://127.0.0.1:12111") {
		t.Fatalf("config not logged in redacted form:\n%s", out)
	}
	var empty bytes.Buffer
	slog.New(slog.NewJSONHandler(&empty, nil)).Info("config", "stripe", StripeConfig{})
	if !strings.Contains(empty.String(), `"secret_key":""`) {
		t.Fatalf("an unset key should log empty, got %s", empty.String())
	}
}

// TestSecretsNeverLogged drives every provider path with debug logging on
// and checks neither secret reaches the log.
func TestSecretsNeverLogged(t *testing.T) {
	base := stripemock.Start(t)
	var logs bytes.Buffer
	s := newTestStripe(t, base, testKey, &recorder{}, &logs)
	ctx := context.Background()
	if _, err := s.Checkout(ctx, validRequest()); err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if err := s.Refund(ctx, "pi_1", 100); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	srv := stripeError(401, "invalid_request_error", "", "Invalid API Key provided: "+testKey)
	defer srv.Close()
	s2 := newTestStripe(t, srv.URL, testKey, nil, &logs)
	if _, err := s2.Checkout(ctx, validRequest()); err == nil {
		t.Fatal("Checkout against an erroring API succeeded")
	}
	payload := CompletedEventJSON("evt_1", paidCompleted())
	if _, err := s.ParseWebhook(payload, SignWebhook(payload, testWebhookSecret, time.Now())); err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	_, _ = s.ParseWebhook(payload, SignWebhook(payload, "whsec_wrong", time.Now()))
	t.Logf("logs:\n%s", logs.String())
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the check below would prove nothing")
	}
	for _, secret := range []string{testKey, testWebhookSecret} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("secret in logs:\n%s", logs.String())
		}
	}
}

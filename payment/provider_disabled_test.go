package payment

import (
	"context"
	"errors"
	"testing"
)

func TestDisabled(t *testing.T) {
	var nilStripe *Stripe
	for name, p := range map[string]Provider{"Disabled": Disabled{}, "*Disabled": &Disabled{}, "nil *Stripe": nilStripe} {
		t.Run(name, func(t *testing.T) {
			if Enabled(p) {
				t.Fatal("Enabled")
			}
			if _, err := p.Checkout(context.Background(), validRequest()); !errors.Is(err, ErrNotConfigured) {
				t.Errorf("Checkout: %v", err)
			}
			if _, err := p.ParseWebhook([]byte("{}"), "t=1,v1=00"); !errors.Is(err, ErrNotConfigured) {
				t.Errorf("ParseWebhook: %v", err)
			}
			if err := p.Refund(context.Background(), "pi_1", 0); !errors.Is(err, ErrNotConfigured) {
				t.Errorf("Refund: %v", err)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	s, err := NewStripe(StripeConfig{SecretKey: testKey, WebhookSecret: testWebhookSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    Provider
		want bool
	}{
		{"nil", nil, false},
		{"disabled", Disabled{}, false},
		{"stripe", s, true},
	}
	for _, tt := range tests {
		if got := Enabled(tt.p); got != tt.want {
			t.Errorf("Enabled(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

package payment

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// StripeConfig configures the Stripe provider. Its String, GoString and
// LogValue redact both secrets, so printing or logging it is safe.
type StripeConfig struct {
	// SecretKey is the API key (sk_... or a restricted rk_...).
	SecretKey string
	// WebhookSecret is the endpoint's signing secret (whsec_...).
	WebhookSecret string
	// APIBase replaces Stripe's API URL; tests point it at stripe-mock.
	// Empty means https://api.stripe.com.
	APIBase string
	// HTTPClient makes the API calls; nil means one with a 30 s timeout.
	HTTPClient *http.Client
}

const redacted = "[redacted]"

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// LogValue implements slog.LogValuer without the secrets.
func (c StripeConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("secret_key", redact(c.SecretKey)),
		slog.String("webhook_secret", redact(c.WebhookSecret)),
		slog.String("api_base", c.APIBase),
	)
}

// String implements fmt.Stringer without the secrets.
func (c StripeConfig) String() string {
	return fmt.Sprintf("{SecretKey:%s WebhookSecret:%s APIBase:%s}",
		redact(c.SecretKey), redact(c.WebhookSecret), c.APIBase)
}

// GoString keeps %#v from printing the secrets.
func (c StripeConfig) GoString() string { return "payment.StripeConfig" + c.String() }

// validate checks the config once, at start. Messages never quote a secret.
func (c StripeConfig) validate() error {
	if c.SecretKey == "" || c.WebhookSecret == "" {
		return fmt.Errorf("stripe needs both a secret key and a webhook secret: %w", ErrNotConfigured)
	}
	if !strings.HasPrefix(c.SecretKey, "sk_") && !strings.HasPrefix(c.SecretKey, "rk_") {
		// A publishable key (pk_...) is the usual mix-up.
		return errors.New("stripe secret key must start with sk_ or rk_")
	}
	if strings.ContainsAny(c.SecretKey+c.WebhookSecret, " \t\r\n") {
		return errors.New("stripe secrets must not contain spaces or newlines")
	}
	if c.APIBase != "" {
		u, err := url.Parse(c.APIBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("stripe api base %q is not an http(s) URL", c.APIBase)
		}
	}
	return nil
}

package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bookmygig/bookmygig/internal/stripemock"
)

const (
	testKey           = "sk_test_bmgSecretKey0123456789"
	testWebhookSecret = "whsec_bmgWebhookSecret0123456789"
)

// exchange is one API call seen on the wire.
type exchange struct {
	method, path string
	header       http.Header
	form         url.Values
	status       int
	body         map[string]any
}

// recorder is an http.RoundTripper that keeps every request and response.
type recorder struct {
	mu   sync.Mutex
	seen []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	form, _ := url.ParseQuery(string(reqBody))
	ex := exchange{method: req.Method, path: req.URL.Path, header: req.Header.Clone(), form: form, status: res.StatusCode}
	_ = json.Unmarshal(resBody, &ex.body)
	r.mu.Lock()
	r.seen = append(r.seen, ex)
	r.mu.Unlock()
	return res, nil
}

func (r *recorder) last(t *testing.T) exchange {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		t.Fatal("no API call was made")
	}
	return r.seen[len(r.seen)-1]
}

// newTestStripe builds a provider against base whose calls rec records and
// whose logs (debug level and up) go to logs.
func newTestStripe(t *testing.T, base, key string, rec *recorder, logs *bytes.Buffer) *Stripe {
	t.Helper()
	var w io.Writer = io.Discard
	if logs != nil {
		w = logs
	}
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hc := &http.Client{}
	if rec != nil {
		hc.Transport = rec
	}
	s, err := NewStripe(StripeConfig{SecretKey: key, WebhookSecret: testWebhookSecret, APIBase: base, HTTPClient: hc}, log)
	if err != nil {
		t.Fatalf("NewStripe: %v", err)
	}
	return s
}

func validRequest() CheckoutRequest {
	return CheckoutRequest{
		GigID:       "gig_7",
		BookingID:   "bk_42",
		Title:       "Late Show: Ada & the Lovelaces",
		AmountMinor: 1500,
		Currency:    "USD",
		Email:       "fan@example.com",
		SuccessURL:  "https://bmg.example/gig/gig_7?booking=bk_42",
		CancelURL:   "https://bmg.example/gig/gig_7",
	}
}

// TestStripeMock runs the provider against the real stripe-mock, which
// validates every parameter against Stripe's OpenAPI spec.
func TestStripeMock(t *testing.T) {
	base := stripemock.Start(t)

	t.Run("checkout", func(t *testing.T) {
		rec := &recorder{}
		var logs bytes.Buffer
		s := newTestStripe(t, base, testKey, rec, &logs)
		co, err := s.Checkout(context.Background(), validRequest())
		if err != nil {
			t.Fatalf("Checkout: %v", err)
		}
		if !strings.HasPrefix(co.ID, "cs_") {
			t.Errorf("session id %q, want cs_...", co.ID)
		}
		if !strings.HasPrefix(co.URL, "https://") {
			t.Errorf("checkout url %q, want https://...", co.URL)
		}
		ex := rec.last(t)
		if ex.method != http.MethodPost || ex.path != "/v1/checkout/sessions" || ex.status != http.StatusOK {
			t.Fatalf("call %s %s -> %d, want POST /v1/checkout/sessions -> 200", ex.method, ex.path, ex.status)
		}
		want := map[string]string{
			"mode":                                          "payment",
			"client_reference_id":                           "bk_42",
			"metadata[gig_id]":                              "gig_7",
			"metadata[booking_id]":                          "bk_42",
			"payment_intent_data[metadata][gig_id]":         "gig_7",
			"payment_intent_data[metadata][booking_id]":     "bk_42",
			"line_items[0][quantity]":                       "1",
			"line_items[0][price_data][unit_amount]":        "1500",
			"line_items[0][price_data][currency]":           "usd",
			"line_items[0][price_data][product_data][name]": "Late Show: Ada & the Lovelaces",
			"customer_email":                                "fan@example.com",
			"success_url":                                   "https://bmg.example/gig/gig_7?booking=bk_42",
			"cancel_url":                                    "https://bmg.example/gig/gig_7",
		}
		for k, v := range want {
			if got := ex.form.Get(k); got != v {
				t.Errorf("sent %s=%q, want %q", k, got, v)
			}
		}
		if got := ex.header.Get("Idempotency-Key"); got != "bmg-checkout-bk_42" {
			t.Errorf("Idempotency-Key %q, want bmg-checkout-bk_42", got)
		}
		if got := ex.header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("Authorization %q, want this instance's key", got)
		}
		// stripe-mock reflects the scalar parameters it accepted.
		for k, v := range map[string]string{"id": co.ID, "url": co.URL, "client_reference_id": "bk_42", "customer_email": "fan@example.com", "mode": "payment"} {
			if got, _ := ex.body[k].(string); got != v {
				t.Errorf("session %s = %q, want %q", k, got, v)
			}
		}
		if strings.Contains(logs.String(), "fan@example.com") {
			t.Errorf("logs carry the buyer's email:\n%s", logs.String())
		}
		if !strings.Contains(logs.String(), `"session":"`+co.ID+`"`) {
			t.Errorf("no log line names the session:\n%s", logs.String())
		}
	})

	t.Run("checkout without email or title", func(t *testing.T) {
		rec := &recorder{}
		s := newTestStripe(t, base, testKey, rec, nil)
		req := validRequest()
		req.Email, req.Title = "", " "
		if _, err := s.Checkout(context.Background(), req); err != nil {
			t.Fatalf("Checkout: %v", err)
		}
		ex := rec.last(t)
		if _, ok := ex.form["customer_email"]; ok {
			t.Errorf("customer_email sent without an email: %q", ex.form.Get("customer_email"))
		}
		if got := ex.form.Get("line_items[0][price_data][product_data][name]"); got != "Ticket" {
			t.Errorf("product name %q, want Ticket", got)
		}
	})

	t.Run("refund", func(t *testing.T) {
		tests := []struct {
			name       string
			amount     int64
			wantAmount string
		}{
			{"full", 0, ""},
			{"partial", 500, "500"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := &recorder{}
				s := newTestStripe(t, base, testKey, rec, nil)
				if err := s.Refund(context.Background(), "pi_3Abc", tt.amount); err != nil {
					t.Fatalf("Refund: %v", err)
				}
				ex := rec.last(t)
				if ex.path != "/v1/refunds" || ex.status != http.StatusOK {
					t.Fatalf("call %s -> %d, want /v1/refunds -> 200", ex.path, ex.status)
				}
				if got := ex.form.Get("payment_intent"); got != "pi_3Abc" {
					t.Errorf("payment_intent %q, want pi_3Abc", got)
				}
				if got := ex.form.Get("amount"); got != tt.wantAmount {
					t.Errorf("amount %q, want %q", got, tt.wantAmount)
				}
				if got, _ := ex.body["status"].(string); got != "succeeded" {
					t.Errorf("refund status %q, want succeeded", got)
				}
			})
		}
	})

	t.Run("instances keep their own keys", func(t *testing.T) {
		recA, recB := &recorder{}, &recorder{}
		a := newTestStripe(t, base, "sk_test_A", recA, nil)
		b := newTestStripe(t, base, "sk_test_B", recB, nil)
		var wg sync.WaitGroup
		for _, s := range []*Stripe{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Refund(context.Background(), "pi_1", 0); err != nil {
					t.Errorf("Refund: %v", err)
				}
			}()
		}
		wg.Wait()
		if got := recA.last(t).header.Get("Authorization"); got != "Bearer sk_test_A" {
			t.Errorf("A sent %q", got)
		}
		if got := recB.last(t).header.Get("Authorization"); got != "Bearer sk_test_B" {
			t.Errorf("B sent %q", got)
		}
	})
}

func TestCheckoutRejectsInvalidRequest(t *testing.T) {
	rec := &recorder{}
	// No API is reachable at this base: a request that got through would
	// fail with ErrProvider instead.
	s := newTestStripe(t, "http://127.0.0.1:1", testKey, rec, nil)
	tests := []struct {
		name string
		edit func(*CheckoutRequest)
	}{
		{"no gig", func(r *CheckoutRequest) { r.GigID = "" }},
		{"no booking", func(r *CheckoutRequest) { r.BookingID = "" }},
		{"zero amount", func(r *CheckoutRequest) { r.AmountMinor = 0 }},
		{"negative amount", func(r *CheckoutRequest) { r.AmountMinor = -1 }},
		{"no currency", func(r *CheckoutRequest) { r.Currency = "" }},
		{"long currency", func(r *CheckoutRequest) { r.Currency = "USDT" }},
		{"no success url", func(r *CheckoutRequest) { r.SuccessURL = "" }},
		{"no cancel url", func(r *CheckoutRequest) { r.CancelURL = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.edit(&req)
			if _, err := s.Checkout(context.Background(), req); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err %v, want ErrInvalidRequest", err)
			}
		})
	}
	for _, amount := range []int64{-1} {
		if err := s.Refund(context.Background(), "pi_1", amount); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Refund(pi_1, %d): %v, want ErrInvalidRequest", amount, err)
		}
	}
	if err := s.Refund(context.Background(), "", 0); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Refund without payment: %v, want ErrInvalidRequest", err)
	}
	if len(rec.seen) != 0 {
		t.Errorf("%d API calls for invalid requests", len(rec.seen))
	}
}

// stripeError answers every request with a Stripe error body.
func stripeError(status int, typ, code, msg string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": typ, "code": code, "message": msg}})
	}))
}

func TestProviderErrors(t *testing.T) {
	t.Run("api error hides the key", func(t *testing.T) {
		// Real Stripe masks the key in this message; a proxy or mock might
		// not, so the provider scrubs it anyway.
		srv := stripeError(http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided: "+testKey)
		defer srv.Close()
		var logs bytes.Buffer
		s := newTestStripe(t, srv.URL, testKey, nil, &logs)
		_, err := s.Checkout(context.Background(), validRequest())
		if !errors.Is(err, ErrProvider) {
			t.Fatalf("err %v, want ErrProvider", err)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("error carries the key: %v", err)
		}
		if !strings.Contains(err.Error(), "status 401") || !strings.Contains(err.Error(), "Invalid API Key provided") {
			t.Errorf("error lacks Stripe's status and message: %v", err)
		}
		if strings.Contains(logs.String(), testKey) {
			t.Errorf("logs carry the key:\n%s", logs.String())
		}
	})
	t.Run("unreachable api", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close()
		s := newTestStripe(t, base, testKey, nil, nil)
		if err := s.Refund(context.Background(), "pi_1", 0); !errors.Is(err, ErrProvider) {
			t.Fatalf("err %v, want ErrProvider", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer srv.Close()
		s := newTestStripe(t, srv.URL, testKey, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Checkout(ctx, validRequest())
		if !errors.Is(err, ErrProvider) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want ErrProvider and context.Canceled", err)
		}
	})
	t.Run("already refunded counts as done", func(t *testing.T) {
		srv := stripeError(http.StatusBadRequest, "invalid_request_error", "charge_already_refunded", "Charge ch_1 has already been refunded.")
		defer srv.Close()
		s := newTestStripe(t, srv.URL, testKey, nil, nil)
		if err := s.Refund(context.Background(), "pi_1", 0); err != nil {
			t.Fatalf("Refund: %v, want nil", err)
		}
	})
	t.Run("refund failed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"re_1","object":"refund","amount":100,"status":"failed"}`)
		}))
		defer srv.Close()
		s := newTestStripe(t, srv.URL, testKey, nil, nil)
		if err := s.Refund(context.Background(), "pi_1", 0); !errors.Is(err, ErrProvider) {
			t.Fatalf("err %v, want ErrProvider", err)
		}
	})
}

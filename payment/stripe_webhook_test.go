package payment

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

func paidCompleted() Completed {
	return Completed{GigID: "gig_7", BookingID: "bk_42", PaymentRef: "pi_3Abc", AmountMinor: 1500, Currency: "USD", Paid: true}
}

func TestParseWebhook(t *testing.T) {
	s := newTestStripe(t, "http://127.0.0.1:1", testKey, nil, nil)
	now := time.Now()
	paid := CompletedEventJSON("evt_1", paidCompleted())
	unpaidC := paidCompleted()
	unpaidC.Paid, unpaidC.PaymentRef = false, ""
	unpaid := CompletedEventJSON("evt_2", unpaidC)
	async := bytes.Replace(CompletedEventJSON("evt_3", paidCompleted()),
		[]byte(`"type":"checkout.session.completed"`), []byte(`"type":"checkout.session.async_payment_succeeded"`), 1)
	noMeta := bytes.Replace(CompletedEventJSON("evt_4", paidCompleted()),
		[]byte(`"metadata":{"booking_id":"bk_42","gig_id":"gig_7"}`), []byte(`"metadata":{}`), 1)
	refOnly := bytes.Replace(CompletedEventJSON("evt_5", paidCompleted()),
		[]byte(`"metadata":{"booking_id":"bk_42","gig_id":"gig_7"}`), []byte(`"metadata":{"gig_id":"gig_7"}`), 1)
	other := []byte(`{"id":"evt_6","object":"event","api_version":"2020-08-27","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent"}}}`)
	oldVersion := bytes.Replace(CompletedEventJSON("evt_7", paidCompleted()),
		[]byte(`"api_version":"`), []byte(`"api_version":"2019-02-19`), 1)
	tampered := bytes.Replace(paid, []byte(`"amount_total":1500`), []byte(`"amount_total":1`), 1)
	if bytes.Equal(tampered, paid) {
		t.Fatal("tampering changed nothing")
	}

	tests := []struct {
		name      string
		payload   []byte
		signature string
		wantErr   error
		wantType  string
		want      *Completed
	}{
		{"paid", paid, SignWebhook(paid, testWebhookSecret, now), nil, "checkout.session.completed", ptr(paidCompleted())},
		{"unpaid", unpaid, SignWebhook(unpaid, testWebhookSecret, now), nil, "checkout.session.completed", &unpaidC},
		{"async payment succeeded", async, SignWebhook(async, testWebhookSecret, now), nil, "checkout.session.async_payment_succeeded", ptr(paidCompleted())},
		{"booking from client_reference_id", refOnly, SignWebhook(refOnly, testWebhookSecret, now), nil, "checkout.session.completed", ptr(paidCompleted())},
		{"other API version", oldVersion, SignWebhook(oldVersion, testWebhookSecret, now), nil, "checkout.session.completed", ptr(paidCompleted())},
		{"not our checkout", noMeta, SignWebhook(noMeta, testWebhookSecret, now), nil, "checkout.session.completed", nil},
		{"other event type", other, SignWebhook(other, testWebhookSecret, now), nil, "payment_intent.succeeded", nil},
		{"signed 4 minutes ago", paid, SignWebhook(paid, testWebhookSecret, now.Add(-4*time.Minute)), nil, "checkout.session.completed", ptr(paidCompleted())},
		{"unsigned", paid, "", ErrBadSignature, "", nil},
		{"wrong secret", paid, SignWebhook(paid, "whsec_other", now), ErrBadSignature, "", nil},
		{"tampered body", tampered, SignWebhook(paid, testWebhookSecret, now), ErrBadSignature, "", nil},
		{"replayed after 6 minutes", paid, SignWebhook(paid, testWebhookSecret, now.Add(-6*time.Minute)), ErrBadSignature, "", nil},
		{"malformed header", paid, "v1=abc,t", ErrBadSignature, "", nil},
		{"timestamp only", paid, "t=" + itoa(now.Unix()), ErrBadSignature, "", nil},
		{"v0 scheme only", paid, strings.Replace(SignWebhook(paid, testWebhookSecret, now), "v1=", "v0=", 1), ErrBadSignature, "", nil},
		{"signed garbage", []byte("not json"), SignWebhook([]byte("not json"), testWebhookSecret, now), ErrBadEvent, "", nil},
		{"signed event without id", []byte(`{"type":"checkout.session.completed"}`), SignWebhook([]byte(`{"type":"checkout.session.completed"}`), testWebhookSecret, now), ErrBadEvent, "", nil},
		{"signed completed with bad object", []byte(`{"id":"evt_8","type":"checkout.session.completed","data":{"object":{"amount_total":"x"}}}`),
			SignWebhook([]byte(`{"id":"evt_8","type":"checkout.session.completed","data":{"object":{"amount_total":"x"}}}`), testWebhookSecret, now), ErrBadEvent, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := s.ParseWebhook(tt.payload, tt.signature)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if ev.Type != tt.wantType || ev.ID == "" {
				t.Errorf("event %q %q, want type %q", ev.ID, ev.Type, tt.wantType)
			}
			switch {
			case tt.want == nil && ev.Completed != nil:
				t.Errorf("Completed %+v, want nil", *ev.Completed)
			case tt.want != nil && ev.Completed == nil:
				t.Errorf("Completed nil, want %+v", *tt.want)
			case tt.want != nil && *ev.Completed != *tt.want:
				t.Errorf("Completed %+v, want %+v", *ev.Completed, *tt.want)
			}
		})
	}
}

func TestSignWebhookRoundTrip(t *testing.T) {
	payload := CompletedEventJSON("evt_rt", paidCompleted())
	at := time.Unix(1767225600, 0)
	sig := SignWebhook(payload, "whsec_x", at)
	if !strings.HasPrefix(sig, "t=1767225600,v1=") || len(sig) != len("t=1767225600,v1=")+64 {
		t.Fatalf("signature %q, want t=1767225600,v1=<64 hex>", sig)
	}
	if err := webhook.ValidatePayloadIgnoringTolerance(payload, sig, "whsec_x"); err != nil {
		t.Fatalf("stripe-go rejects our signature: %v", err)
	}
	// And ours matches what stripe-go's own test helper builds.
	ref := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_x", Timestamp: at})
	if sig != ref.Header {
		t.Fatalf("signature %q, stripe-go builds %q", sig, ref.Header)
	}
	if err := webhook.ValidatePayloadIgnoringTolerance(payload, sig, "whsec_y"); err == nil {
		t.Fatal("a signature validates under another secret")
	}
}

func TestCompletedEventJSONDecodes(t *testing.T) {
	s := newTestStripe(t, "http://127.0.0.1:1", testKey, nil, nil)
	for _, c := range []Completed{paidCompleted(), {GigID: "g", BookingID: "b", AmountMinor: 1, Currency: "eur"}} {
		payload := CompletedEventJSON("evt_x", c)
		ev, err := s.ParseWebhook(payload, SignWebhook(payload, testWebhookSecret, time.Now()))
		if err != nil {
			t.Fatalf("ParseWebhook: %v", err)
		}
		want := c
		want.Currency = strings.ToUpper(c.Currency)
		if ev.ID != "evt_x" || ev.Completed == nil || *ev.Completed != want {
			t.Fatalf("event %+v completed %+v, want %+v", ev, ev.Completed, want)
		}
	}
}

// FuzzParseWebhook feeds outside input to the webhook parser: it must never
// panic, must refuse anything not signed with the secret, and a signed body
// either decodes or is ErrBadEvent.
func FuzzParseWebhook(f *testing.F) {
	secret := testWebhookSecret
	now := time.Now()
	for _, p := range [][]byte{
		CompletedEventJSON("evt_1", paidCompleted()),
		[]byte(`{"id":"evt_2","type":"payment_intent.succeeded","data":{"object":{}}}`),
		[]byte(`{"id":"evt_3","type":"checkout.session.completed","data":{"object":{"payment_intent":{"id":"pi_1"},"metadata":null}}}`),
		[]byte(`{"id":"evt_4","type":"checkout.session.completed","data":null}`),
		[]byte("not json"),
		{},
	} {
		f.Add(p, SignWebhook(p, secret, now))
		f.Add(p, "")
		f.Add(p, "t=1,v1=zz")
	}
	s, err := NewStripe(StripeConfig{SecretKey: testKey, WebhookSecret: secret}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte, sig string) {
		ev, err := s.ParseWebhook(payload, sig)
		if err == nil && !signedBy(payload, sig, secret) {
			t.Fatalf("accepted %q with a signature we did not make: %q", payload, sig)
		}
		if err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrBadEvent) {
			t.Fatalf("error %v is neither ErrBadSignature nor ErrBadEvent", err)
		}
		if err == nil && ev.Completed != nil && (ev.Completed.GigID == "" || ev.Completed.BookingID == "") {
			t.Fatalf("Completed without booking: %+v", *ev.Completed)
		}
		// The same body properly signed never fails on the signature.
		ev, err = s.ParseWebhook(payload, SignWebhook(payload, secret, time.Now()))
		if errors.Is(err, ErrBadSignature) {
			t.Fatalf("own signature refused: %v", err)
		}
		if err == nil && ev.Completed != nil && (ev.Completed.GigID == "" || ev.Completed.BookingID == "") {
			t.Fatalf("Completed without booking: %+v", *ev.Completed)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// signedBy reports whether sig holds a v1 signature of payload under
// secret for its own t, checked independently of stripe-go's parser.
func signedBy(payload []byte, sig, secret string) bool {
	var ts int64
	var v1s []string
	for _, part := range strings.Split(sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts, _ = strconv.ParseInt(v, 10, 64)
		case "v1":
			v1s = append(v1s, v)
		}
	}
	_, want, _ := strings.Cut(SignWebhook(payload, secret, time.Unix(ts, 0)), ",v1=")
	for _, v := range v1s {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}

package cluster

import "testing"

func TestRelayToken(t *testing.T) {
	// openssl: printf 'bookmygig relay v1' | openssl dgst -sha256 -hmac s3cret
	const want = "8c3db7dbe32bddf785b090bc82fcca1fca1e41730a8316adf2fa13bafff04eb4"
	if got := RelayToken("s3cret"); got != want {
		t.Fatalf("RelayToken = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name, secret, token string
		ok                  bool
	}{
		{"right token", "s3cret", want, true},
		{"other secret", "other", want, false},
		{"truncated", "s3cret", want[:63], false},
		{"upper case", "s3cret", "8C3DB7DBE32BDDF785B090BC82FCCA1FCA1E41730A8316ADF2FA13BAFFF04EB4", false},
		{"the secret itself", "s3cret", "s3cret", false},
		{"empty token", "s3cret", "", false},
		{"empty secret", "", RelayToken(""), false},
		{"both empty", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidRelayToken(tc.secret, tc.token); got != tc.ok {
				t.Fatalf("ValidRelayToken(%q, %q) = %v, want %v", tc.secret, tc.token, got, tc.ok)
			}
		})
	}
}

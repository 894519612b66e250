package browsertest

import (
	"testing"
	"time"
)

func TestChromiumStartsWithWebRTC(t *testing.T) {
	var res struct {
		Text   string `json:"text"`
		HasRTC bool   `json:"hasRTC"`
		Error  string `json:"error"`
	}
	if err := Run(t, 60*time.Second, &res, "smoke.mjs"); err != nil {
		t.Fatalf("smoke.mjs: %v (%s)", err, res.Error)
	}
	if res.Text != "ok" || !res.HasRTC {
		t.Fatalf("browser smoke = %+v", res)
	}
}

package api

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestStreamWarnings(t *testing.T) {
	tests := []struct {
		name             string
		hasVideo, bFrame bool
		keyInterval      float64
		want             []string
	}{
		{"audio only", false, true, 10, []string{}},
		{"clean", true, false, 2, []string{}},
		{"b-frames", true, true, 1, []string{"b_frames"}},
		{"long gop", true, false, 4, []string{"keyframe_interval"}},
		{"both", true, true, 4, []string{"b_frames", "keyframe_interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StreamWarnings(tt.hasVideo, tt.bFrame, tt.keyInterval)
			codes := []string{}
			for _, w := range got {
				codes = append(codes, w.Code)
			}
			if !slices.Equal(codes, tt.want) {
				t.Fatalf("warnings %v, want %v", codes, tt.want)
			}
		})
	}
}

func TestStreamWarningsJSON(t *testing.T) {
	b, err := json.Marshal(StreamWarnings(true, false, 4.5))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"code":"keyframe_interval","message":"Keyframes arrive only every 4.5s. Viewers who join or lose a packet wait that long for a clear picture.","fix":"In OBS: Settings \u003e Output \u003e Output Mode: Advanced \u003e Streaming, set \"Keyframe Interval\" to 1 or 2 s."}]`
	if string(b) != want {
		t.Fatalf("json\n%s\nwant\n%s", b, want)
	}
	if b, _ := json.Marshal(StreamWarnings(false, false, 0)); string(b) != "[]" {
		t.Fatalf("no warnings encode as %s", b)
	}
}

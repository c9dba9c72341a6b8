package ollama

import (
	"reflect"
	"testing"

	"github.com/bertbench/bertbench/runners"
)

// TestOptions: every parameter a request sets reaches Ollama under its
// option name, zero values included (a presence penalty of 0 is a choice,
// not "unset").
func TestOptions(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	for _, tc := range []struct {
		name string
		p    runners.Params
		want map[string]any
	}{
		{"none", runners.Params{}, map[string]any{}},
		{"all", runners.Params{
			Temperature: f(0), TopP: f(0.9), Seed: i(7), MaxTokens: i(5), NumCtx: i(512), Stop: []string{"\n"}, PresencePenalty: f(1.5),
		}, map[string]any{
			"temperature": 0.0, "top_p": 0.9, "seed": 7, "num_predict": 5, "num_ctx": 512, "stop": []string{"\n"}, "presence_penalty": 1.5,
		}},
		{"presence penalty 0", runners.Params{PresencePenalty: f(0)}, map[string]any{"presence_penalty": 0.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := options(tc.p); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("options = %v, want %v", got, tc.want)
			}
		})
	}
}

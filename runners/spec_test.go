package runners

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "ollama:llama2:13b", want: Spec{Provider: "ollama", Model: "llama2:13b"}},
		{in: "ollama:llama2-zh-ft", want: Spec{Provider: "ollama", Model: "llama2-zh-ft"}},
		{in: "ollama:llama2:13b@http://gpu-box:11434/", want: Spec{Provider: "ollama", Model: "llama2:13b", BaseURL: "http://gpu-box:11434"}},
		{in: "openai:gpt-3.5-turbo", want: Spec{Provider: "openai", Model: "gpt-3.5-turbo"}},
		{in: "openai-compatible:llama2@http://localhost:8000/v1", want: Spec{Provider: "openai-compatible", Model: "llama2", BaseURL: "http://localhost:8000/v1"}},
		{in: "openai-compatible:org/model@v2@https://h/v1", want: Spec{Provider: "openai-compatible", Model: "org/model@v2", BaseURL: "https://h/v1"}},
		{in: "replay:testdata/run.jsonl", want: Spec{Provider: "replay", Model: "testdata/run.jsonl"}},
		{in: "replay:/runs/a@http://x/b.jsonl", want: Spec{Provider: "replay", Model: "/runs/a@http://x/b.jsonl"}},
		{in: "replay:", wantErr: "want PROVIDER:MODEL"},
		{in: "replay: ", wantErr: "replay:FILE"},
		{in: "llama2", wantErr: "want PROVIDER:MODEL"},
		{in: "ollama:", wantErr: "want PROVIDER:MODEL"},
		{in: "hf:bert", wantErr: `unknown provider "hf"`},
		{in: "openai-compatible:llama2", wantErr: "needs a base URL"},
		{in: "ollama:@http://h:1", wantErr: "empty model name"},
		{in: "openai-compatible:m@http://user:pw@h/v1", wantErr: "must not carry credentials"},
		{in: "openai-compatible:m@http://", wantErr: "bad URL"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSpec(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if again, err := ParseSpec(got.String()); err != nil || again != got {
				t.Errorf("String() %q does not round-trip: %+v, %v", got.String(), again, err)
			}
		})
	}
}

package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
	"github.com/bertbench/bertbench/runners/openai"
	"github.com/bertbench/bertbench/runners/pricing"
)

var shared ollamatest.Shared

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

func ptr[T any](v T) *T { return &v }

// TestAgainstOllamaV1 streams chat completions from a real Ollama's
// OpenAI-compatible endpoint.
func TestAgainstOllamaV1(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := pricing.Wrap(openai.New(ollamatest.TinyModel, "", openai.Config{BaseURL: srv.URL + "/v1"}), pricing.Default())
	req := runners.Request{Prompt: "the cat sat on the mat", Params: runners.Params{Temperature: ptr(0.0), Seed: ptr(1), MaxTokens: ptr(9)}}
	res, err := r.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, srv.LogTail(2000))
	}
	if res.Output == "" || res.CompletionTokens != 9 || res.PromptTokens <= 0 || res.DoneReason != "length" {
		t.Errorf("result: %+v", res)
	}
	if res.TTFT <= 0 || res.TTFT > res.Latency {
		t.Errorf("TTFT %v latency %v", res.TTFT.Std(), res.Latency.Std())
	}
	if res.CostUSD != nil {
		t.Errorf("a local model was priced: %v", *res.CostUSD)
	}
	if res.Runner != "openai:"+ollamatest.TinyModel || res.Attempts != 1 {
		t.Errorf("runner %q attempts %d", res.Runner, res.Attempts)
	}
	// Temperature 0 reaches the server (go-openai alone would drop it and
	// Ollama would sample at 1.0): other seeds give the same output.
	for _, seed := range []int{2, 3} {
		req.Params.Seed = ptr(seed)
		again, err := r.Run(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if again.Output != res.Output {
			t.Errorf("seed %d at temperature 0: %q, seed 1 gave %q", seed, again.Output, res.Output)
		}
	}
}

func TestMissingModelOnV1(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := openai.New("no-such-model", "", openai.Config{BaseURL: srv.URL + "/v1"})
	res, err := r.Run(context.Background(), runners.Request{Prompt: "x"})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "check the model name") || res.Error == "" {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}

func TestRequestBody(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	r := openai.New("m", "", openai.Config{BaseURL: srv.URL + "/v1"})
	_, err := r.Run(context.Background(), runners.Request{Prompt: "p", System: "sys", Params: runners.Params{
		Temperature: ptr(0.0), TopP: ptr(0.0), Seed: ptr(5), MaxTokens: ptr(3), Stop: []string{"\n"},
		PresencePenalty: ptr(0.0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(srv.Bodies()[0]), &body); err != nil {
		t.Fatal(err)
	}
	// Zero values that go-openai would drop (omitempty) are sent too.
	want := map[string]any{"temperature": 0.0, "top_p": 0.0, "presence_penalty": 0.0, "seed": 5.0, "max_tokens": 3.0, "stream": true, "model": "m"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%s] = %v, want %v (body %s)", k, body[k], v, srv.Bodies()[0])
		}
	}
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v", body["stream_options"])
	}
	if msgs, _ := body["messages"].([]any); len(msgs) != 2 {
		t.Errorf("messages = %v", body["messages"])
	}
}

func TestGenerateModeRefused(t *testing.T) {
	r := openai.New("m", "", openai.Config{BaseURL: "http://127.0.0.1:1/v1"})
	if _, err := r.Run(context.Background(), runners.Request{Prompt: "p", Mode: runners.ModeGenerate}); err == nil || !strings.Contains(err.Error(), "use chat") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyRedactedFromErrors(t *testing.T) {
	const key = "sk-live-VERYSECRET-123"
	srv := faultserver.New(faultserver.EchoAuth)
	defer srv.Close()
	r := openai.New("m", "", openai.Config{BaseURL: srv.URL + "/v1", APIKey: key})
	res, err := r.Run(context.Background(), runners.Request{Prompt: "p"})
	if err == nil {
		t.Fatal("no error for a 401")
	}
	for _, s := range []string{err.Error(), res.Error, fmt.Sprintf("%+v", res)} {
		if strings.Contains(s, key) {
			t.Errorf("key leaked: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") || !strings.Contains(err.Error(), "401") {
		t.Errorf("err = %v", err)
	}
}

// TestConcurrentUse shares one runner between goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	r := pricing.Wrap(openai.New("fault-model", "", openai.Config{BaseURL: srv.URL + "/v1"}), pricing.Table{"fault-model": {InputPer1M: 1, OutputPer1M: 1}})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), runners.Request{Prompt: fmt.Sprint(i), Params: runners.Params{Temperature: ptr(0.0)}})
			if err != nil || res.Output != "Hello, world." || res.CostUSD == nil {
				t.Errorf("%+v, %v", res, err)
			}
		}()
	}
	wg.Wait()
	if srv.Calls() != 16 {
		t.Errorf("%d calls, want 16", srv.Calls())
	}
}

// TestMaxTokensForReasoningModels: o-series and GPT-5 models get
// max_completion_tokens (they refuse max_tokens), others max_tokens.
func TestMaxTokensForReasoningModels(t *testing.T) {
	for model, field := range map[string]string{"o3-mini": "max_completion_tokens", "gpt-5-nano": "max_completion_tokens", "gpt-4o": "max_tokens"} {
		srv := faultserver.New()
		r := openai.New(model, "", openai.Config{BaseURL: srv.URL + "/v1"})
		_, err := r.Run(context.Background(), runners.Request{Prompt: "p", Params: runners.Params{MaxTokens: ptr(7)}})
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		var body map[string]any
		json.Unmarshal([]byte(srv.Bodies()[0]), &body)
		other := map[string]string{"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}[field]
		if body[field] != 7.0 || body[other] != nil {
			t.Errorf("%s: body %s, want %s = 7 only", model, srv.Bodies()[0], field)
		}
	}
}

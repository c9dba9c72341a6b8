package ollama_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/ollamatest"
	"github.com/bertbench/bertbench/runners/retry"
)

// longSource is far longer than any context window the tests use: about
// 3,500 tokens for the tiny model, whose training context is 256.
var longSource = strings.Repeat("the cat sat on the mat ", 100)

// resultJSON is the result as translate writes it.
func resultJSON(t *testing.T, res runners.Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTruncatedInputIsRecorded: Ollama cuts a prompt longer than the
// context window to fit it, and says so only by prompt_eval_count
// reaching num_ctx; the result records it.
func TestTruncatedInputIsRecorded(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := ollama.New(srv.Handle(), ollamatest.TinyModel, "")
	for _, tc := range []struct {
		name    string
		prompt  string
		numCtx  *int
		wantCtx int
		want    bool
	}{
		{"long source, --num-ctx 64", longSource, ptr(64), 64, true},
		// No num_ctx: the server's default, cut to the model's 256.
		{"long source, model's context", longSource, nil, 256, true},
		{"short source", "the cat sat on the mat", ptr(64), 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := greedy(tc.prompt, runners.ModeChat, 8)
			req.Params.NumCtx = tc.numCtx
			res, err := r.Run(context.Background(), req)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, srv.LogTail(2000))
			}
			m := resultJSON(t, res)
			if got, _ := m["truncated_input"].(bool); got != tc.want {
				t.Errorf("truncated_input = %v, want %v (prompt_eval_count %d)", m["truncated_input"], tc.want, res.PromptTokens)
			}
			counters, _ := m["ollama"].(map[string]any)
			if got, _ := counters["num_ctx"].(float64); int(got) != tc.wantCtx {
				t.Errorf("ollama.num_ctx = %v, want %d", counters["num_ctx"], tc.wantCtx)
			}
			if tc.want && res.PromptTokens != tc.wantCtx {
				t.Errorf("prompt_eval_count %d, want the window %d", res.PromptTokens, tc.wantCtx)
			}
		})
	}
}

// TestContextWindowFullIsFinal: once generation fills the context window
// Ollama 0.24 ends the stream without its final message (the model loops
// on one token after the window shifted, and Ollama aborts it). That is
// not a transient failure: it is named, and not retried.
func TestContextWindowFullIsFinal(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := retry.Wrap(ollama.New(srv.Handle(), ollamatest.TinyModel, ""), retry.Policy{MaxAttempts: 5, BaseDelay: 10 * time.Millisecond})
	for _, mode := range []runners.Mode{runners.ModeChat, runners.ModeGenerate} {
		t.Run(string(mode), func(t *testing.T) {
			req := greedy(longSource, mode, 400)
			req.Params.NumCtx = ptr(128)
			res, err := r.Run(context.Background(), req)
			const want = "context window full (128 tokens): raise --num-ctx or lower --max-tokens"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to say %q", err, want)
			}
			if res.Attempts != 1 || res.Error != err.Error() {
				t.Errorf("attempts %d (want 1), error %q", res.Attempts, res.Error)
			}
			if m := resultJSON(t, res); m["truncated_input"] != true {
				t.Errorf("truncated_input = %v, want true", m["truncated_input"])
			}
		})
	}
}

// TestAbortedGenerationIsFinal: Ollama also ends the stream without a
// final message when a model repeats one token more than 30 times, with
// room left in the window. At temperature 0 a retry repeats it exactly.
func TestAbortedGenerationIsFinal(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := retry.Wrap(ollama.New(srv.Handle(), ollamatest.TinyModel, ""), retry.Policy{MaxAttempts: 5, BaseDelay: 10 * time.Millisecond})
	req := greedy("the cat sat on the mat", runners.ModeChat, 300)
	req.Params.NumCtx = ptr(256)
	res, err := r.Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "without its final message") || strings.Contains(err.Error(), "context window full") {
		t.Fatalf("err = %v", err)
	}
	if res.Attempts != 1 {
		t.Errorf("attempts %d, want 1", res.Attempts)
	}
}

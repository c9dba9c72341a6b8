package replay_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/replay"
	"github.com/bertbench/bertbench/runners/retry"
)

// write writes text to a file in a fresh folder and returns its path.
func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// translateOutput is what `bertbench translate -o` writes: a line without
// an id (text input), a JSON number id, a string id, a failed call and an
// empty source, out of input order.
const translateOutput = `{"line":3,"source":"c","runner":"ollama:llama2:13b","model":"llama2:13b","model_digest":"sha256:ab","output":"丙","latency_ms":812.5,"ttft_ms":90.25,"prompt_tokens":20,"completion_tokens":3,"ollama":{"prompt_eval_count":20,"eval_count":3,"total_duration_ms":800,"load_duration_ms":1,"prompt_eval_duration_ms":10,"eval_duration_ms":700,"num_ctx":4096},"done_reason":"stop","cost_usd":null,"attempts":2}
{"line":1,"id":12345678901234567891,"source":"a","runner":"ollama:llama2:13b","model":"llama2:13b","output":"甲","latency_ms":100,"ttft_ms":10,"prompt_tokens":5,"completion_tokens":1,"cost_usd":0.5,"attempts":1,"cached":true}

{"line":2,"id":"b-2","source":"b","runner":"ollama:llama2:13b","model":"llama2:13b","output":"","latency_ms":0,"ttft_ms":0,"prompt_tokens":0,"completion_tokens":0,"cost_usd":null,"attempts":5,"error":"giving up after 5 attempts: HTTP 503"}
{"line":4,"source":"","runner":"ollama:llama2:13b","model":"","output":"","latency_ms":0,"ttft_ms":0,"prompt_tokens":0,"completion_tokens":0,"cost_usd":null,"attempts":0}
`

func TestRunner_Run(t *testing.T) {
	file := write(t, "run.jsonl", translateOutput)
	r, err := replay.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Spec(), "replay:"+file; got != want {
		t.Errorf("Spec() = %q, want %q", got, want)
	}
	if r.Len() != 4 {
		t.Errorf("Len() = %d, want 4", r.Len())
	}
	ctx := context.Background()

	t.Run("RecordedLineWithoutID", func(t *testing.T) {
		res, err := r.Run(ctx, runners.Request{Prompt: "whatever", ItemID: "L3"})
		if err != nil {
			t.Fatal(err)
		}
		cost := res.CostUSD
		res.CostUSD = nil
		want := runners.Result{
			Runner: "replay:" + file, Model: "llama2:13b", ModelDigest: "sha256:ab", Output: "丙",
			Latency: runners.Duration(812500 * time.Microsecond), TTFT: runners.Duration(90250 * time.Microsecond),
			PromptTokens: 20, CompletionTokens: 3,
			Ollama: &runners.OllamaCounters{PromptEvalCount: 20, EvalCount: 3, TotalDuration: runners.Duration(800 * time.Millisecond),
				LoadDuration: runners.Duration(time.Millisecond), PromptEvalDuration: runners.Duration(10 * time.Millisecond),
				EvalDuration: runners.Duration(700 * time.Millisecond), NumCtx: 4096},
			DoneReason: "stop", Replayed: true,
		}
		if cost != nil {
			t.Errorf("cost %v, want nil as recorded", *cost)
		}
		if !equal(res, want) {
			t.Errorf("got  %+v\nwant %+v", res, want)
		}
	})
	t.Run("NumberIDAsWritten", func(t *testing.T) {
		res, err := r.Run(ctx, runners.Request{ItemID: "12345678901234567891"})
		if err != nil {
			t.Fatal(err)
		}
		// Replayed, never cached, no call made; the recording's figures kept.
		if res.Output != "甲" || !res.Replayed || res.Cached || res.Attempts != 0 || res.CostUSD == nil || *res.CostUSD != 0.5 || res.Latency.Std() != 100*time.Millisecond {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("RecordedFailureIsFinal", func(t *testing.T) {
		res, err := r.Run(ctx, runners.Request{ItemID: "b-2"})
		if err == nil || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), `"b-2"`) {
			t.Fatalf("err = %v, want the recorded failure naming the item", err)
		}
		if res.Error != err.Error() || !res.Replayed {
			t.Errorf("result %+v does not record the error", res)
		}
	})
	t.Run("EmptySource", func(t *testing.T) {
		res, err := r.Run(ctx, runners.Request{ItemID: "L4"})
		if err != nil || res.Output != "" || !res.Replayed {
			t.Errorf("got %+v, %v", res, err)
		}
	})
	t.Run("MissingIDIsFinalAndNamesTheFile", func(t *testing.T) {
		calls := 0
		counted := countRuns{r, &calls}
		res, err := retry.Wrap(counted, retry.Policy{MaxAttempts: 5, BaseDelay: time.Millisecond}).Run(ctx, runners.Request{ItemID: "nope"})
		if err == nil {
			t.Fatal("no error for an id the file lacks")
		}
		for _, want := range []string{`"nope"`, file, "4 items"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
		if !errors.Is(err, runners.ErrInvalidInput) {
			t.Errorf("error %v is not an input error", err)
		}
		if calls != 1 || res.Attempts != 1 {
			t.Errorf("tried %d times (attempts %d): a missing id must not be retried", calls, res.Attempts)
		}
	})
	t.Run("NoItemID", func(t *testing.T) {
		_, err := r.Run(ctx, runners.Request{Prompt: "p"})
		if err == nil || !errors.Is(err, runners.ErrInvalidInput) || !strings.Contains(err.Error(), "item id") {
			t.Errorf("err = %v, want an input error about the missing item id", err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := r.Run(cctx, runners.Request{ItemID: "L3"}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func equal(a, b runners.Result) bool {
	if (a.Ollama == nil) != (b.Ollama == nil) || a.Ollama != nil && *a.Ollama != *b.Ollama {
		return false
	}
	a.Ollama, b.Ollama = nil, nil
	a.CostUSD, b.CostUSD = nil, nil
	return a == b
}

// countRuns counts the calls that reach the replay runner.
type countRuns struct {
	runners.Runner
	n *int
}

func (c countRuns) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	*c.n++
	return c.Runner.Run(ctx, req)
}

func TestOpen_SimpleFile(t *testing.T) {
	file := write(t, "simple.jsonl", "\ufeff{\"id\": \"x\", \"output\": \"hello\"}\r\n{\"id\": 7, \"output\": \"seven\", \"note\": [1]}\n")
	r, err := replay.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"x": "hello", "7": "seven"} {
		res, err := r.Run(context.Background(), runners.Request{ItemID: id})
		if err != nil || res.Output != want || !res.Replayed || res.Model != "" {
			t.Errorf("%s: got %+v, %v", id, res, err)
		}
	}
}

func TestOpen_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"NotJSON", "{\"id\":1,\"output\":\"a\"}\nnot json\n", ":2: not a JSON object"},
		{"NotAnObject", "[1]\n", ":1: not a JSON object"},
		{"NoOutput", "{\"id\":1,\"text\":\"a\"}\n", `:1: no "output" string field`},
		{"OutputNotString", "{\"id\":1,\"output\":3}\n", `:1: no "output" string field`},
		{"BadField", "{\"id\":1,\"output\":\"a\",\"latency_ms\":\"slow\"}\n", `:1: duration: want milliseconds`},
		{"NoIDNoLine", "{\"output\":\"a\"}\n", `:1: neither "id" nor "line"`},
		{"BadID", "{\"id\":true,\"output\":\"a\"}\n", `:1: "id" must be a string or a number`},
		{"EmptyID", "{\"id\":\"\",\"output\":\"a\"}\n", `:1: "id" is empty`},
		{"Duplicate", "{\"id\":\"a\",\"output\":\"x\"}\n{\"line\":9,\"output\":\"y\"}\n{\"id\":\"a\",\"output\":\"z\"}\n", `:3: item "a" is also recorded on line 1`},
		{"DuplicateDerived", "{\"line\":2,\"output\":\"x\"}\n{\"id\":\"L2\",\"output\":\"y\"}\n", `:2: item "L2" is also recorded on line 1`},
		{"Empty", "\n\n", "holds no recorded output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := write(t, "rec.jsonl", tc.text)
			_, err := replay.Open(file)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), file+tc.want) && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), file) {
				t.Errorf("error %q does not start with the file name", err)
			}
			if strings.Contains(err.Error(), "\n") || !errors.Is(err, runners.ErrInvalidInput) {
				t.Errorf("error %q: want one line matching ErrInvalidInput", err)
			}
		})
	}
	t.Run("MissingFile", func(t *testing.T) {
		_, err := replay.Open(filepath.Join(t.TempDir(), "none.jsonl"))
		if err == nil || !errors.Is(err, runners.ErrInvalidInput) || !strings.Contains(err.Error(), "none.jsonl") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestLeadingWhiteSpace: a line that starts with any white space TrimSpace
// drops (\v, \f, U+00A0) is found again by its item.
func TestLeadingWhiteSpace(t *testing.T) {
	file := write(t, "ws.jsonl", "\v\f\u00a0{\"id\": \"a\", \"output\": \"alpha\"}\n\u0085{\"id\": \"b\", \"output\": \"beta\"}\n")
	r, err := replay.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"a": "alpha", "b": "beta"} {
		res, err := r.Run(context.Background(), runners.Request{ItemID: id})
		if err != nil || res.Output != want {
			t.Errorf("item %s: %q, %v; want %q", id, res.Output, err, want)
		}
	}
}

package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/bertbench/bertbench/runners"
)

// MustOpen opens a new store in tb's temporary folder and closes it when
// the test ends.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	return mustOpenPath(tb, PathIn(tb.TempDir()))
}

func mustOpenPath(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func ptr[T any](v T) *T { return &v }

// testConfig is a run of two variations, the second asked twice per item.
func testConfig() RunConfig {
	return RunConfig{
		ID:          "r1",
		Config:      "variations: [...]\n",
		ConfigHash:  "hash-1",
		ToolVersion: "test",
		Variations: []Variation{
			{Name: "a", Runner: "ollama:llama2:13b", Prompt: "Translate: {{.Source}}", Params: runners.Params{Temperature: ptr(0.0), Seed: ptr(1)}, TargetLang: "zh"},
			{Name: "b", Runner: "openai:gpt-3.5-turbo", Prompt: "翻译：{{.Source}}", System: "You translate.", Repeats: 2, TargetLang: "zh"},
		},
	}
}

func mustCreate(tb testing.TB, s *Store, cfg RunConfig) *Run {
	tb.Helper()
	r, err := s.CreateRun(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func testItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{ID: fmt.Sprintf("item-%d", i), Source: fmt.Sprintf("sentence %d", i), References: []string{fmt.Sprintf("句子 %d", i)}}
	}
	return items
}

// testGeneration is a successful live result for k.
func testGeneration(k Key) Generation {
	res := runners.Result{
		Runner: "ollama:llama2:13b", Model: "llama2:13b", ModelDigest: "sha256:abc",
		Output: "输出 " + k.String(), Latency: runners.Duration(1234567890), TTFT: runners.Duration(98765),
		PromptTokens: 12, CompletionTokens: 34, Attempts: 1, DoneReason: "stop", CostUSD: ptr(0.00042),
		Ollama: &runners.OllamaCounters{PromptEvalCount: 12, EvalCount: 34, TotalDuration: runners.Duration(1234000000), NumCtx: 2048},
	}
	return Generation{Key: k, RequestKey: "key-" + k.Item, Result: res}
}

func mustPut(tb testing.TB, r *Run, g Generation) bool {
	tb.Helper()
	stored, err := r.PutGeneration(context.Background(), g)
	if err != nil {
		tb.Fatal(err)
	}
	return stored
}

// collect reads a whole iterator, failing on an error.
func collect[T any](tb testing.TB, seq func(func(T, error) bool)) []T {
	tb.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

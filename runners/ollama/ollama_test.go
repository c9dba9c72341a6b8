package ollama_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/gguf"
	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/ollamatest"
	"github.com/bertbench/bertbench/runners/retry"
)

var shared ollamatest.Shared

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

func ptr[T any](v T) *T { return &v }

// greedy asks for n tokens at temperature 0 with a fixed seed.
func greedy(prompt string, mode runners.Mode, n int) runners.Request {
	return runners.Request{Prompt: prompt, Mode: mode, Params: runners.Params{
		Temperature: ptr(0.0), Seed: ptr(42), MaxTokens: ptr(n),
	}}
}

func TestRunCountersAndStreaming(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := ollama.New(srv.Handle(), ollamatest.TinyModel, "")
	for _, mode := range []runners.Mode{runners.ModeChat, runners.ModeGenerate} {
		t.Run(string(mode), func(t *testing.T) {
			const n = 12
			res, err := r.Run(context.Background(), greedy("the cat sat on the mat", mode, n))
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, srv.LogTail(3000))
			}
			// A random model rarely emits end-of-sequence (ours never
			// does greedily), so generation runs to the limit.
			if res.Ollama == nil {
				t.Fatal("no Ollama counters")
			}
			if res.Ollama.EvalCount != n || res.CompletionTokens != n {
				t.Errorf("eval_count %d, completion tokens %d, want %d", res.Ollama.EvalCount, res.CompletionTokens, n)
			}
			if res.DoneReason != "length" {
				t.Errorf("done_reason %q, want length", res.DoneReason)
			}
			if res.Ollama.PromptEvalCount <= 0 || res.PromptTokens != res.Ollama.PromptEvalCount {
				t.Errorf("prompt_eval_count %d, prompt tokens %d", res.Ollama.PromptEvalCount, res.PromptTokens)
			}
			if res.Output == "" {
				t.Error("empty output")
			}
			if res.TTFT <= 0 || res.TTFT > res.Latency {
				t.Errorf("TTFT %v, latency %v: want 0 < TTFT <= latency", res.TTFT.Std(), res.Latency.Std())
			}
			if res.Ollama.EvalDuration <= 0 || res.Ollama.TotalDuration <= 0 {
				t.Errorf("durations not reported: %+v", res.Ollama)
			}
			if !strings.HasPrefix(res.Model, ollamatest.TinyModel) || res.ModelDigest == "" {
				t.Errorf("model %q digest %q", res.Model, res.ModelDigest)
			}
			if res.Runner != "ollama:"+ollamatest.TinyModel || res.Attempts != 1 || res.Error != "" {
				t.Errorf("runner %q attempts %d error %q", res.Runner, res.Attempts, res.Error)
			}
		})
	}
}

func TestDeterministicAtTemperatureZero(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := ollama.New(srv.Handle(), ollamatest.TinyModel, "")
	req := greedy("hello world", runners.ModeChat, 10)
	first, err := r.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		again, err := r.Run(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if again.Output != first.Output {
			t.Fatalf("run %d: output %q, first run %q", i+2, again.Output, first.Output)
		}
	}
	// The stop parameter reaches the server: stopping at the first
	// output character ends the generation early.
	stop := req
	stop.Params.Stop = []string{first.Output[:1]}
	res, err := r.Run(context.Background(), stop)
	if err != nil {
		t.Fatal(err)
	}
	if res.DoneReason != "stop" || len(res.Output) >= len(first.Output) {
		t.Errorf("with stop %q: done %q output %q (unstopped %q)", stop.Params.Stop, res.DoneReason, res.Output, first.Output)
	}
}

func TestAdapterChangesOutput(t *testing.T) {
	srv, adapter := shared.Tiny(t)
	ctx := context.Background()
	h := srv.Handle()
	var statuses []string
	info, err := h.RegisterAdapter(ctx, ollama.AdapterRequest{Name: "tiny-ft", Base: ollamatest.TinyModel, Adapter: adapter},
		func(s string) { statuses = append(statuses, s) })
	if err != nil {
		t.Fatalf("RegisterAdapter: %v\n%s", err, srv.LogTail(3000))
	}
	if len(info.Adapters) != 1 {
		t.Errorf("registered model lists adapters %v, want one", info.Adapters)
	}
	if len(statuses) == 0 {
		t.Error("no progress reported")
	}
	base, err := h.Model(ctx, ollamatest.TinyModel)
	if err != nil {
		t.Fatal(err)
	}
	if base.Digest == info.Digest {
		t.Error("fine-tune has the base model's digest")
	}
	list, err := h.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "tiny-ft:latest") {
		t.Errorf("List = %v, want tiny-ft:latest in it", names)
	}

	req := greedy("the cat sat on the mat", runners.ModeChat, 12)
	baseRes, err := ollama.New(h, ollamatest.TinyModel, "").Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ftRes, err := ollama.New(h, "tiny-ft", "").Run(ctx, req)
	if err != nil {
		t.Fatalf("fine-tune: %v\n%s", err, srv.LogTail(3000))
	}
	if ftRes.Output == baseRes.Output {
		t.Errorf("adapter did not change the greedy output: both %q", ftRes.Output)
	}
	if ftRes.ModelDigest != info.Digest {
		t.Errorf("result digest %q, registered %q", ftRes.ModelDigest, info.Digest)
	}
}

// TestPEFTAdapter registers a PEFT folder (safetensors), which Ollama
// converts to a GGUF adapter.
func TestPEFTAdapter(t *testing.T) {
	srv, _ := shared.Tiny(t)
	ctx := context.Background()
	dir, err := ollamatest.TinyPEFT(t.TempDir(), gguf.LlamaConfig{Seed: 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	info, err := srv.Handle().RegisterAdapter(ctx, ollama.AdapterRequest{Name: "tiny-peft", Base: ollamatest.TinyModel, Adapter: dir}, nil)
	if err != nil {
		t.Fatalf("RegisterAdapter: %v\n%s", err, srv.LogTail(3000))
	}
	if len(info.Adapters) != 1 {
		t.Errorf("adapters %v", info.Adapters)
	}
	req := greedy("the cat sat on the mat", runners.ModeChat, 12)
	base, err := ollama.New(srv.Handle(), ollamatest.TinyModel, "").Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ft, err := ollama.New(srv.Handle(), "tiny-peft", "").Run(ctx, req)
	if err != nil {
		t.Fatalf("fine-tune: %v\n%s", err, srv.LogTail(3000))
	}
	if ft.Output == base.Output || ft.CompletionTokens != 12 {
		t.Errorf("PEFT fine-tune output %q (%d tokens), base %q", ft.Output, ft.CompletionTokens, base.Output)
	}
}

func TestAdapterErrors(t *testing.T) {
	srv, adapter := shared.Tiny(t)
	h := srv.Handle()
	ctx := context.Background()
	notGGUF := t.TempDir() + "/adapter.bin"
	os.WriteFile(notGGUF, []byte("not a gguf file"), 0o644)
	for _, tc := range []struct {
		name string
		req  ollama.AdapterRequest
		want string
	}{
		{"missing base", ollama.AdapterRequest{Name: "x", Base: "no-such-base", Adapter: adapter}, "ollama pull no-such-base"},
		{"missing file", ollama.AdapterRequest{Name: "x", Base: ollamatest.TinyModel, Adapter: "/nonexistent/a.gguf"}, "no such file"},
		{"not gguf", ollama.AdapterRequest{Name: "x", Base: ollamatest.TinyModel, Adapter: notGGUF}, "not a GGUF file"},
		{"empty folder", ollama.AdapterRequest{Name: "x", Base: ollamatest.TinyModel, Adapter: t.TempDir()}, "adapter_config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.RegisterAdapter(ctx, tc.req, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestMissingModel(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := retry.Wrap(ollama.New(srv.Handle(), "no-such-model:7b", ""), retry.Policy{MaxAttempts: 3})
	res, err := r.Run(context.Background(), greedy("hi", runners.ModeChat, 4))
	if !errors.Is(err, runners.ErrModelNotFound) {
		t.Fatalf("err = %v, want ErrModelNotFound", err)
	}
	for _, want := range []string{`"no-such-model:7b"`, "ollama pull no-such-model:7b", srv.URL, "adapters create"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if res.Attempts != 1 || res.Error == "" {
		t.Errorf("attempts %d (a missing model is not retried), error %q", res.Attempts, res.Error)
	}
}

func TestUnreachableServer(t *testing.T) {
	h, err := ollama.NewServer("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ollama.New(h, "m", "").Run(context.Background(), runners.Request{Prompt: "x"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the server at http://127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
}

// TestConcurrentUse runs one runner from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r := runners.Limit(retry.Wrap(ollama.New(srv.Handle(), ollamatest.TinyModel, ""), retry.Policy{Timeout: time.Minute}), 3)
	prompts := []string{"the cat", "a dog", "the sun", "water"}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(prompts))
	for i := 0; i < 3*len(prompts); i++ {
		p := prompts[i%len(prompts)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), greedy(p, runners.ModeGenerate, 6))
			if err != nil {
				errs <- err
				return
			}
			// Outputs are not compared: batching concurrent sequences
			// may legitimately change float rounding.
			if res.CompletionTokens != 6 || res.Output == "" {
				errs <- fmt.Errorf("prompt %q: %d tokens, output %q", p, res.CompletionTokens, res.Output)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkTinyCall is one streamed 8-token chat call to the tiny model on
// the real server: the floor of Ollama's per-call cost on this machine
// (the model itself is negligible).
func BenchmarkTinyCall(b *testing.B) {
	srv, _ := shared.Tiny(b)
	r := ollama.New(srv.Handle(), ollamatest.TinyModel, "")
	req := greedy("the cat sat on the mat", runners.ModeChat, 8)
	if _, err := r.Run(context.Background(), req); err != nil { // load the model
		b.Fatal(err)
	}
	var ttft, lat time.Duration
	for b.Loop() {
		res, err := r.Run(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		ttft += res.TTFT.Std()
		lat += res.Latency.Std()
	}
	b.ReportMetric(float64(ttft.Microseconds())/float64(b.N)/1000, "ttft-ms/op")
	b.ReportMetric(float64(lat.Microseconds())/float64(b.N)/1000, "latency-ms/op")
}

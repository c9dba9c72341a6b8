package bench_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
	"github.com/bertbench/bertbench/runners/retry"
)

func TestErrorKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&runners.CallError{Op: "x", StatusCode: 429, Retryable: true}, bench.KindRateLimit},
		{&runners.CallError{Op: "x", StatusCode: 503, Retryable: true}, bench.KindServer},
		{&runners.CallError{Op: "x", StatusCode: 400}, bench.KindClient},
		{&runners.CallError{Op: "x", StatusCode: 404, Err: fmt.Errorf("%w: gone", runners.ErrModelNotFound)}, bench.KindNotFound},
		{&runners.CallError{Op: "x", Unreachable: true}, bench.KindUnreachable},
		{&runners.CallError{Op: "x", Retryable: true, Err: runners.ErrTruncated}, bench.KindTruncated},
		{&runners.CallError{Op: "x", Retryable: true, Err: fmt.Errorf("late: %w", context.DeadlineExceeded)}, bench.KindTimeout},
		{fmt.Errorf("waiting: %w", context.Canceled), bench.KindCanceled},
		{errors.New("something else"), bench.KindOther},
	} {
		if got := bench.ErrorKind(tc.err); got != tc.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestReporter: the reporter sums a stream of samples per runner and
// level, in order of appearance, keeping failures and cached results out
// of the latency figures.
func TestReporter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	samples := []bench.Sample{
		{Runner: "a", Concurrency: 1, Start: t0, Latency: 100 * ms, TTFT: 10 * ms, OutputTokens: 10, EvalDuration: 50 * ms},
		{Runner: "a", Concurrency: 1, Start: t0.Add(100 * ms), Latency: 300 * ms, TTFT: 30 * ms, OutputTokens: 10, EvalDuration: 50 * ms},
		{Runner: "a", Concurrency: 1, Start: t0.Add(400 * ms), Latency: 200 * ms, TTFT: 20 * ms, OutputTokens: 10, EvalDuration: 100 * ms},
		{Runner: "a", Concurrency: 1, Start: t0.Add(600 * ms), Latency: 5 * ms, ErrorKind: bench.KindServer},
		{Runner: "a", Concurrency: 1, Start: t0.Add(605 * ms), Latency: 1 * ms, NotLive: true, OutputTokens: 99},
		{Runner: "b", Concurrency: 2, Start: t0, Latency: 1000 * ms, OutputTokens: 20},
		{Runner: "b", Concurrency: 2, Start: t0, Latency: 1000 * ms, ErrorKind: bench.KindTimeout},
	}
	var r bench.Reporter
	for _, s := range samples {
		r.Add(s)
	}
	levels := r.Levels()
	if len(levels) != 2 {
		t.Fatalf("%d levels, want 2", len(levels))
	}
	a, b := levels[0], levels[1]
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"a runner", a.Runner, "a"},
		{"a requests", a.Requests, 5},
		{"a ok", a.OK, 3},
		{"a not live", a.NotLive, 1},
		{"a errors", a.Errors, map[string]int{bench.KindServer: 1}},
		{"a wall", a.Wall, 606 * ms},
		{"a p50", bench.Percentile(a.Latency, 0.5), 200 * ms},
		{"a p99", bench.Percentile(a.Latency, 0.99), 300 * ms},
		{"a ttft p50", bench.Percentile(a.TTFT, 0.5), 20 * ms},
		{"a tokens", a.OutputTokens, 30},
		{"a stream tokens/s", a.StreamTokensPerSecond(), 150.0},
		{"a source", a.TokensSource(), "server"},
		{"a requests/s", a.RequestsPerSecond(), 3 / 0.606},
		{"b concurrency", b.Concurrency, 2},
		{"b errors", b.Errors, map[string]int{bench.KindTimeout: 1}},
		{"b stream tokens/s", b.StreamTokensPerSecond(), 20.0},
		{"b throughput", b.ThroughputTokensPerSecond(), 20.0},
		{"b source", b.TokensSource(), "wall"},
		{"b no ttft", len(b.TTFT), 0},
		{"kinds", bench.ErrorKinds(levels), []string{bench.KindServer, bench.KindTimeout}},
	} {
		if m, ok := tc.want.(map[string]int); ok {
			if !maps.Equal(tc.got.(map[string]int), m) {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
			continue
		}
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.5, 5}, {0.95, 10}, {0.99, 10}, {1, 10}} {
		if got := bench.Percentile(s, tc.q); got != tc.want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := bench.Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %v", got)
	}
}

// benchRunner builds the runner a benchmark uses: no cache, no retries.
func benchRunner(t *testing.T, spec string, conc int, timeout time.Duration) runners.Runner {
	t.Helper()
	r, err := factory.New(spec, factory.Options{Concurrency: conc, Retry: retry.Policy{MaxAttempts: 1, Timeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func prompts(max int) []runners.Request {
	return []runners.Request{{Prompt: "Translate into Chinese: the cat sat on the mat.", Params: runners.Params{MaxTokens: &max}}}
}

// TestGenerateCountsFaultsByKind: a fault server's failures are samples
// of their kind, kept out of the latency figures; the level goes on.
func TestGenerateCountsFaultsByKind(t *testing.T) {
	srv := faultserver.New(faultserver.RateLimit, faultserver.ServerError, faultserver.OK, faultserver.ResetMidStream,
		faultserver.Hang, faultserver.BadRequest, faultserver.OK)
	defer srv.Close()
	var seen []bench.Sample
	levels, err := bench.Generate(context.Background(), bench.GenerateOptions{
		Runners:     []runners.Runner{benchRunner(t, "ollama:fault@"+srv.URL, 1, 500*time.Millisecond)},
		Concurrency: []int{1}, Requests: 8, Prompts: prompts(8),
		OnSample: func(s bench.Sample) { seen = append(seen, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 1 || len(seen) != 8 {
		t.Fatalf("%d levels, %d samples; want 1 and 8", len(levels), len(seen))
	}
	l := levels[0]
	want := map[string]int{bench.KindRateLimit: 1, bench.KindServer: 1, bench.KindTruncated: 1, bench.KindTimeout: 1, bench.KindClient: 1}
	if !maps.Equal(l.Errors, want) || l.OK != 3 || len(l.Latency) != 3 {
		t.Errorf("errors %v, %d ok (%d latencies); want %v and 3", l.Errors, l.OK, len(l.Latency), want)
	}
	// The fault server reports eval_count 3 in eval_duration 2 ms.
	if got := l.StreamTokensPerSecond(); got != 1500 || l.TokensSource() != "server" {
		t.Errorf("stream tokens/s %v from %q, want 1500 from the server's counters", got, l.TokensSource())
	}
	if srv.Calls() != 8 {
		t.Errorf("%d calls, want 8 (no retries)", srv.Calls())
	}
}

// TestGenerateBounds: a level never sends more than Requests, never more
// than its concurrency at once, and a Duration ends it early (after its
// first request).
func TestGenerateBounds(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	r := benchRunner(t, "openai-compatible:"+faultserver.DefaultModel+"@"+srv.URL+"/v1", 4, 0)
	var last int
	levels, err := bench.Generate(context.Background(), bench.GenerateOptions{
		Runners: []runners.Runner{r}, Concurrency: []int{1, 3}, Requests: 5, Warmup: 2, Prompts: prompts(8),
		Progress: func(done, total int) {
			if total != 2+5*2 {
				t.Errorf("total %d, want 12", total)
			}
			last = done
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 2 || levels[0].Requests != 5 || levels[1].Requests != 5 || srv.Calls() != 12 || last != 12 {
		t.Fatalf("levels %d, requests %v; %d calls, progress %d; want 2 levels of 5, 12 calls and progress", len(levels), levelRequests(levels), srv.Calls(), last)
	}
	if levels[1].TokensSource() != "wall" || levels[1].OutputTokens != 15 {
		t.Errorf("OpenAI tokens %d from %q, want 15 from wall time", levels[1].OutputTokens, levels[1].TokensSource())
	}
	levels, err = bench.Generate(context.Background(), bench.GenerateOptions{
		Runners: []runners.Runner{r}, Concurrency: []int{2}, Requests: 1000, Duration: time.Nanosecond, Prompts: prompts(8),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := levels[0].Requests; n < 1 || n > 2 {
		t.Errorf("a 1ns level sent %d requests, want its first one or two", n)
	}
}

func levelRequests(levels []*bench.Level) []int {
	var n []int
	for _, l := range levels {
		n = append(n, l.Requests)
	}
	return n
}

// TestGenerateRejectsBadOptions: options that cannot run are input errors.
func TestGenerateRejectsBadOptions(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	r := benchRunner(t, "ollama:fault@"+srv.URL, 1, 0)
	good := bench.GenerateOptions{Runners: []runners.Runner{r}, Concurrency: []int{1}, Requests: 1, Prompts: prompts(4)}
	for name, edit := range map[string]func(*bench.GenerateOptions){
		"no runner":       func(o *bench.GenerateOptions) { o.Runners = nil },
		"no level":        func(o *bench.GenerateOptions) { o.Concurrency = nil },
		"level 0":         func(o *bench.GenerateOptions) { o.Concurrency = []int{1, 0} },
		"no requests":     func(o *bench.GenerateOptions) { o.Requests = 0 },
		"negative warmup": func(o *bench.GenerateOptions) { o.Warmup = -1 },
		"no prompt":       func(o *bench.GenerateOptions) { o.Prompts = nil },
	} {
		o := good
		edit(&o)
		if _, err := bench.Generate(context.Background(), o); !errors.Is(err, bench.ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	if srv.Calls() != 0 {
		t.Errorf("%d calls for bad options", srv.Calls())
	}
}

// TestGenerateRealOllama: the tiny model on a real Ollama, through its
// native API and its OpenAI-compatible one, as two runners in one run:
// every request succeeds, TTFT comes before the end, Ollama's own eval
// counters give the native runner's tokens/s.
func TestGenerateRealOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real Ollama server (built by `make ollama`); skipped in -short mode")
	}
	srv := ollamatest.StartT(t)
	ctx := context.Background()
	if _, err := srv.CreateTiny(ctx, ollamatest.TinyModel); err != nil {
		t.Fatal(err)
	}
	rs := []runners.Runner{
		benchRunner(t, "ollama:"+ollamatest.TinyModel+"@"+srv.URL, 2, time.Minute),
		benchRunner(t, "openai-compatible:"+ollamatest.TinyModel+"@"+srv.URL+"/v1", 2, time.Minute),
	}
	n := 0
	levels, err := bench.Generate(ctx, bench.GenerateOptions{
		Runners: rs, Concurrency: []int{1, 2}, Requests: 3, Warmup: 1, Prompts: prompts(8),
		OnSample: func(bench.Sample) { n++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 4 || n != 12 {
		t.Fatalf("%d levels, %d samples; want 4 and 12", len(levels), n)
	}
	for i, l := range levels {
		if l.Runner != rs[i/2].Spec() || l.Concurrency != []int{1, 2}[i%2] {
			t.Errorf("level %d is %s at %d", i, l.Runner, l.Concurrency)
		}
		if l.OK != 3 || len(l.Errors) != 0 || l.OutputTokens == 0 {
			t.Errorf("%s at %d: %d ok, errors %v, %d tokens; want 3 ok, no errors, tokens", l.Runner, l.Concurrency, l.OK, l.Errors, l.OutputTokens)
			continue
		}
		if p := bench.Percentile(l.TTFT, 0.5); p <= 0 || p > bench.Percentile(l.Latency, 1) {
			t.Errorf("%s at %d: TTFT p50 %v, latency max %v", l.Runner, l.Concurrency, p, bench.Percentile(l.Latency, 1))
		}
		want := "server"
		if i >= 2 {
			want = "wall"
		}
		if l.TokensSource() != want || l.StreamTokensPerSecond() <= 0 || l.RequestsPerSecond() <= 0 {
			t.Errorf("%s at %d: %v tokens/s from %q (want %q), %v requests/s", l.Runner, l.Concurrency, l.StreamTokensPerSecond(), l.TokensSource(), want, l.RequestsPerSecond())
		}
	}
}

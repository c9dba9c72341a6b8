package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

// longSource does not fit the tiny model's context window.
var longSource = strings.Repeat("the cat sat on the mat ", 100)

// TestTranslateAgainstOllamaLimits runs translate against a real Ollama
// where the model's context window, the server's URL or the model name is
// wrong, and checks that each is named, and failed fast.
func TestTranslateAgainstOllamaLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real Ollama server (make ollama)")
	}
	srv := ollamatest.StartT(t)
	if _, err := srv.CreateTiny(context.Background(), ollamatest.TinyModel); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := "ollama:" + ollamatest.TinyModel + "@" + srv.URL

	t.Run("a source cut to the context window is flagged, with one warning", func(t *testing.T) {
		in := writeTranslateInput(t, filepath.Join(dir, "long.txt"), longSource+"\n"+longSource+" and more\nthe cat sat\n")
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", spec, "-i", in, "--no-cache",
			"--num-ctx", "64", "--max-tokens", "4", "--temperature", "0", "--prompt", "{{.Source}}")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		res := readResultsRaw(t, stdout)
		for n, want := range map[int]bool{1: true, 2: true, 3: false} {
			if got, _ := res[n]["truncated_input"].(bool); got != want {
				t.Errorf("line %d: truncated_input %v, want %v", n, res[n]["truncated_input"], want)
			}
		}
		if got := strings.Count(stderr, "warning"); got != 1 {
			t.Errorf("%d warnings, want 1:\n%s", got, stderr)
		}
		for _, want := range []string{"2 lines", "64 tokens", "--num-ctx 128"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not mention %q:\n%s", want, stderr)
			}
		}
	})

	t.Run("a full context window fails each line at once", func(t *testing.T) {
		in := writeTranslateInput(t, filepath.Join(dir, "full.txt"), longSource+"\n"+longSource+" again\n")
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", spec, "-i", in, "--no-cache",
			"--num-ctx", "128", "--max-tokens", "400", "--temperature", "0")
		if code != exitFailure {
			t.Errorf("exit %d, want 1: %s", code, stderr)
		}
		res := readResults(t, stdout)
		for _, n := range []int{1, 2} {
			if l := res[n]; l.Attempts != 1 || !strings.Contains(l.Error, "context window full (128 tokens): raise --num-ctx or lower --max-tokens") {
				t.Errorf("line %d: attempts %d, error %q", n, l.Attempts, l.Error)
			}
		}
	})

	t.Run("--prices prices Ollama lines too", func(t *testing.T) {
		in := writeTranslateInput(t, filepath.Join(dir, "short.txt"), "the cat sat\n")
		prices := writeTranslateInput(t, filepath.Join(dir, "prices.json"), `{"models": {"`+ollamatest.TinyModel+`": {"input_per_1m": 1000000, "output_per_1m": 2000000}}}`)
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", spec, "-i", in, "--no-cache",
			"--max-tokens", "3", "--temperature", "0", "--prices", prices)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		l := readResults(t, stdout)[1]
		if l.CostUSD == nil || *l.CostUSD != float64(l.PromptTokens)+2*float64(l.CompletionTokens) {
			t.Errorf("cost %v for %d+%d tokens", l.CostUSD, l.PromptTokens, l.CompletionTokens)
		}
	})

	in := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "one\ntwo\n")
	for _, tc := range []struct {
		name   string
		runner string
		want   []string
	}{
		{"a model the OpenAI-compatible server lacks stops before the first line",
			"openai-compatible:no-such-model@" + srv.URL + "/v1", []string{`"no-such-model"`, ollamatest.TinyModel}},
		{"a base URL without /v1 stops before the first line, suggesting it",
			"openai-compatible:" + ollamatest.TinyModel + "@" + srv.URL, []string{srv.URL + "/v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", tc.runner, "-i", in, "--no-cache", "--retries", "2")
			if code != exitFailure || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d (want 1), stdout %q (want none), stderr %q (want one line)", code, stdout, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not mention %q", stderr, want)
				}
			}
		})
	}
}

// readResultsRaw parses results as generic JSON objects by input line.
func readResultsRaw(t *testing.T, data string) map[int]map[string]any {
	t.Helper()
	out := map[int]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		n, _ := m["line"].(float64)
		out[int(n)] = m
	}
	return out
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestTranslateNothingListening: an OpenAI-compatible server that is not
// there stops the run before the first line, instead of retrying every
// line.
func TestTranslateNothingListening(t *testing.T) {
	in := writeTranslateInput(t, filepath.Join(t.TempDir(), "in.txt"), "one\ntwo\nthree\n")
	for _, provider := range []string{"openai-compatible", "openai"} {
		t.Run(provider, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", "sk-test")
			addr := closedPort(t)
			code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", provider+":m@http://"+addr+"/v1",
				"-i", in, "--no-cache", "--retries", "2")
			if code != exitFailure || stdout != "" {
				t.Errorf("exit %d (want 1), stdout %q (want no lines)", code, stdout)
			}
			if !strings.Contains(stderr, "cannot reach") || !strings.Contains(stderr, addr) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr %q, want one line saying the server at %s cannot be reached", stderr, addr)
			}
		})
	}
}

// dyingServer answers OpenAI chat completions for n calls, then goes away:
// the next call's connection is dropped and nothing listens any more.
func dyingServer(t *testing.T, n int) (url string, calls *atomic.Int64) {
	t.Helper()
	fs := faultserver.New()
	t.Cleanup(fs.Close)
	calls = &atomic.Int64{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" && calls.Add(1) > int64(n) {
			l.Close()
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		fs.Config.Handler.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), calls
}

// TestTranslateServerDiesMidRun: once the server is gone, the run stops
// at the first line that could not reach it, instead of retrying every
// remaining line.
func TestTranslateServerDiesMidRun(t *testing.T) {
	url, calls := dyingServer(t, 2)
	var lines []string
	for i := range 8 {
		lines = append(lines, "line "+strconv.Itoa(i+1))
	}
	in := writeTranslateInput(t, filepath.Join(t.TempDir(), "in.txt"), strings.Join(lines, "\n")+"\n")
	code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "openai-compatible:fault-model@"+url+"/v1",
		"-i", in, "--no-cache", "--retries", "2", "--concurrency", "1")
	if code != exitFailure || !strings.Contains(stderr, "stopped at line 3") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	res := readResults(t, stdout)
	if len(res) != 3 || res[1].Error != "" || res[2].Error != "" || res[3].Error == "" {
		t.Errorf("results: %s", stdout)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("the server saw %d chat calls, want 3", got)
	}
}

// TestTranslateSummaryCountsLiveCallsOnly: latency in the summary covers
// the calls made in this run; cached lines are counted apart, and priced
// with the --prices of this run.
func TestTranslateSummaryCountsLiveCallsOnly(t *testing.T) {
	fs := faultserver.New()
	defer fs.Close()
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	runner := "openai-compatible:fault-model@" + fs.URL + "/v1"
	first := writeTranslateInput(t, filepath.Join(dir, "first.txt"), "one\ntwo\n")
	code, _, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", runner, "-i", first, "--cache-dir", cacheDir)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "2 live calls") || !strings.Contains(stderr, "latency") {
		t.Errorf("first run summary: %q", stderr)
	}

	both := writeTranslateInput(t, filepath.Join(dir, "both.txt"), "one\ntwo\nthree\n")
	prices := writeTranslateInput(t, filepath.Join(dir, "prices.json"), `{"models": {"fault-model": {"input_per_1m": 1000000, "output_per_1m": 0}}}`)
	code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", runner, "-i", both, "--cache-dir", cacheDir, "--prices", prices)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	res := readResults(t, stdout)
	var live []float64
	for n, l := range res {
		if l.CostUSD == nil || *l.CostUSD != 7 {
			t.Errorf("line %d (cached %v): cost %v, want 7 from this run's --prices", n, l.Cached, l.CostUSD)
		}
		if !l.Cached {
			live = append(live, l.LatencyMS)
		}
	}
	if len(live) != 1 {
		t.Fatalf("%d live lines, want 1: %s", len(live), stdout)
	}
	sort.Float64s(live)
	want := runners.Duration(time.Duration(live[0] * float64(time.Millisecond)))
	summary := stderr[strings.LastIndex(stderr, "translate:"):]
	if !strings.Contains(summary, "1 live call") || !strings.Contains(summary, "2 from cache") || !strings.Contains(summary, formatLatency(want.Std())) {
		t.Errorf("summary %q, want 1 live call with latency %s and 2 from cache", summary, formatLatency(want.Std()))
	}
}

// formatLatency is how the summary writes a latency: rounded to 0.1 ms.
func formatLatency(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

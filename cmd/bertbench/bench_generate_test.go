package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

// generateLevels decodes bench generate's --format json.
func generateLevels(t *testing.T, stdout string) []generateLevelJSON {
	t.Helper()
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("want one line of JSON, got %q", stdout)
	}
	var out struct {
		Levels []generateLevelJSON `json:"levels"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	return out.Levels
}

// TestBenchGenerateFaults: failures are counted by kind in the JSON and
// the table, never retried, never served from a cache; a run where
// nothing succeeds exits 1 after its report.
func TestBenchGenerateFaults(t *testing.T) {
	srv := faultserver.New(faultserver.ServerError, faultserver.OK, faultserver.RateLimit, faultserver.OK)
	defer srv.Close()
	spec := "ollama:fault@" + srv.URL
	code, stdout, stderr := runCLI(t, "", "bench", "generate", "--runner", spec, "--concurrency", "1", "--requests", "4", "--warmup", "0", "-f", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	levels := generateLevels(t, stdout)
	if len(levels) != 1 {
		t.Fatalf("%d levels, want 1", len(levels))
	}
	l := levels[0]
	if l.Runner != spec || l.Requests != 4 || l.OK != 2 || l.Errors["server"] != 1 || l.Errors["rate_limit"] != 1 || srv.Calls() != 4 {
		t.Errorf("level %+v after %d calls; want 2 ok, a server error and a rate limit in 4 calls", l, srv.Calls())
	}
	if l.TokensFrom != "server" || l.TokensPerS != 1500 || l.LatencyP50S <= 0 || l.TTFTP50S <= 0 || l.TTFTP50S > l.LatencyP99S {
		t.Errorf("level %+v: want tokens/s 1500 from the server, positive latencies, TTFT within the latency", l)
	}
	// The same requests again: a cache would answer them; there is none.
	code, stdout, stderr = runCLI(t, "", "bench", "generate", "--runner", spec, "--concurrency", "1,2", "--requests", "3", "--warmup", "1")
	if code != exitOK || srv.Calls() != 4+1+6 {
		t.Fatalf("exit %d after %d calls (want 11): %s", code, srv.Calls(), stderr)
	}
	for _, want := range []string{"TTFT p50/p95/p99", "throughput tok/s", spec, "3/3"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	all := faultserver.New(faultserver.NotFound, faultserver.NotFound)
	defer all.Close()
	code, stdout, stderr = runCLI(t, "", "bench", "generate", "--runner", "ollama:fault@"+all.URL, "--concurrency", "1", "--requests", "2", "--warmup", "0")
	if code != exitFailure || !strings.Contains(stdout, "not_found 2") || !strings.Contains(stderr, "no request succeeded") {
		t.Errorf("all failed: exit %d (want %d), stdout %q, stderr %q", code, exitFailure, stdout, stderr)
	}
}

// TestBenchGenerateBadFlags: misuse exits 2 with one line naming it.
func TestBenchGenerateBadFlags(t *testing.T) {
	dir := t.TempDir()
	empty := writeLines(t, dir, "empty.txt", []string{""})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--runner", "ollama:x", "--concurrency", "1,0"}, `--concurrency: "0" is not a positive whole number`},
		{[]string{"--runner", "ollama:x", "--concurrency", "2,2"}, "level 2 is given twice"},
		{[]string{"--runner", "replay:runs.jsonl"}, "a replay answers from a recording"},
		{[]string{"--runner", "nonsense"}, "want PROVIDER:MODEL"},
		{[]string{"--runner", "ollama:x", "--requests", "0"}, "--requests must be at least 1"},
		{[]string{"--runner", "ollama:x", "--format", "xml"}, `unknown --format "xml"`},
		{[]string{"--runner", "ollama:x", "--prompt", "a", "--input", empty}, "not both"},
		{[]string{"--runner", "ollama:x", "--input", empty}, "has no non-empty line"},
	} {
		code, stdout, stderr := runCLI(t, "", append([]string{"bench", "generate"}, tc.args...)...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// TestBenchGenerateRealOllama: the tiny model on a real Ollama through
// two specs (its native API and its OpenAI-compatible one) compare in one
// table, every request a success.
func TestBenchGenerateRealOllama(t *testing.T) {
	srv := ollamatest.StartT(t)
	if _, err := srv.CreateTiny(context.Background(), ollamatest.TinyModel); err != nil {
		t.Fatal(err)
	}
	native := "ollama:" + ollamatest.TinyModel + "@" + srv.URL
	compat := "openai-compatible:" + ollamatest.TinyModel + "@" + srv.URL + "/v1"
	code, stdout, stderr := runCLI(t, "", "bench", "generate", "--runner", native, "--runner", compat,
		"--concurrency", "1,2", "--requests", "2", "--max-tokens", "8", "-f", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	levels := generateLevels(t, stdout)
	if len(levels) != 4 {
		t.Fatalf("%d levels, want 4: %s", len(levels), stdout)
	}
	for i, l := range levels {
		want := []string{native, native, compat, compat}[i]
		if l.Runner != want || l.OK != 2 || len(l.Errors) != 0 || l.OutputTokens == 0 || l.TTFTP50S <= 0 || l.RequestsPerS <= 0 {
			t.Errorf("level %d: %+v; want %s with 2 successes, tokens, TTFT", i, l, want)
		}
	}
	if levels[0].TokensFrom != "server" || levels[2].TokensFrom != "wall" {
		t.Errorf("tokens from %q and %q, want Ollama's counters (server) natively and wall time through /v1", levels[0].TokensFrom, levels[2].TokensFrom)
	}
}

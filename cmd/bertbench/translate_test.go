package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

// translateCLI runs bertbench in-process with ctx and returns the exit
// code, stdout and stderr.
func translateCLI(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, append([]string{"bertbench"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// translatedLine is the part of an output line the tests read.
type translatedLine struct {
	Line             int      `json:"line"`
	ID               any      `json:"id"`
	Source           string   `json:"source"`
	Output           string   `json:"output"`
	LatencyMS        float64  `json:"latency_ms"`
	TTFTMS           float64  `json:"ttft_ms"`
	PromptTokens     int      `json:"prompt_tokens"`
	CompletionTokens int      `json:"completion_tokens"`
	DoneReason       string   `json:"done_reason"`
	CostUSD          *float64 `json:"cost_usd"`
	Attempts         int      `json:"attempts"`
	Cached           bool     `json:"cached"`
	Error            string   `json:"error"`
	Ollama           *struct {
		EvalCount int `json:"eval_count"`
	} `json:"ollama"`
}

// readResults parses a JSONL results file (or text) by input line.
func readResults(t *testing.T, data string) map[int]translatedLine {
	t.Helper()
	out := map[int]translatedLine{}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		var l translatedLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		if _, dup := out[l.Line]; dup {
			t.Fatalf("input line %d written twice", l.Line)
		}
		out[l.Line] = l
	}
	return out
}

func writeTranslateInput(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// countingProxy forwards to target and counts model calls, so that tests
// see at the server how many calls were made.
type countingProxy struct {
	*httptest.Server
	calls atomic.Int64
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	p := &countingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/chat", "/api/generate", "/v1/chat/completions":
			p.calls.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func TestTranslateOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real Ollama server (make ollama)")
	}
	srv := ollamatest.StartT(t)
	adapter, err := srv.CreateTiny(context.Background(), ollamatest.TinyModel)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCountingProxy(t, srv.URL)
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	input := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "the cat sat on the mat\n\nhello world\na red house\n")
	outFile := filepath.Join(dir, "out.jsonl")
	spec := "ollama:" + ollamatest.TinyModel + "@" + proxy.URL
	args := []string{"translate", "--to", "Chinese", "--runner", spec, "-i", input, "-o", outFile, "--cache-dir", cacheDir,
		"--temperature", "0", "--seed", "7", "--max-tokens", "8", "--concurrency", "2"}

	t.Run("first run calls the model once per non-empty line", func(t *testing.T) {
		code, stdout, stderr := translateCLI(context.Background(), args...)
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s\n%s", code, stderr, srv.LogTail(2000))
		}
		if stdout != "" {
			t.Errorf("stdout %q, want results in the -o file only", stdout)
		}
		if got := proxy.calls.Load(); got != 3 {
			t.Errorf("server saw %d calls, want 3", got)
		}
		data, _ := os.ReadFile(outFile)
		res := readResults(t, string(data))
		if len(res) != 4 {
			t.Fatalf("%d lines written, want 4:\n%s", len(res), data)
		}
		for _, n := range []int{1, 3, 4} {
			l := res[n]
			if l.Output == "" || l.CompletionTokens != 8 || l.Ollama == nil || l.Ollama.EvalCount != 8 || l.DoneReason != "length" {
				t.Errorf("line %d: %+v", n, l)
			}
			if l.LatencyMS <= 0 || l.TTFTMS <= 0 || l.PromptTokens <= 0 || l.Attempts != 1 || l.Cached || l.CostUSD != nil {
				t.Errorf("line %d measurements: %+v", n, l)
			}
		}
		if l := res[2]; l.Source != "" || l.Output != "" || l.Attempts != 0 {
			t.Errorf("empty line 2: %+v", l)
		}
		if !strings.Contains(stderr, "4 of 4 lines written") {
			t.Errorf("stderr summary: %q", stderr)
		}
	})

	first, _ := os.ReadFile(outFile)
	t.Run("second run is served from the cache", func(t *testing.T) {
		proxy.calls.Store(0)
		code, _, stderr := translateCLI(context.Background(), args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := proxy.calls.Load(); got != 0 {
			t.Errorf("server saw %d calls, want 0", got)
		}
		data, _ := os.ReadFile(outFile)
		again, before := readResults(t, string(data)), readResults(t, string(first))
		for n, l := range before {
			a := again[n]
			if a.Output != l.Output || (l.Source != "" && !a.Cached) {
				t.Errorf("line %d: cached %v output %q, first run %q", n, a.Cached, a.Output, l.Output)
			}
		}
	})

	t.Run("changed parameters miss the cache", func(t *testing.T) {
		proxy.calls.Store(0)
		code, _, stderr := translateCLI(context.Background(), append(args, "--stop", "zzz")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := proxy.calls.Load(); got != 3 {
			t.Errorf("server saw %d calls, want 3", got)
		}
	})

	t.Run("no-cache always calls", func(t *testing.T) {
		proxy.calls.Store(0)
		code, _, stderr := translateCLI(context.Background(), append(args, "--no-cache")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := proxy.calls.Load(); got != 3 {
			t.Errorf("server saw %d calls, want 3", got)
		}
	})

	t.Run("cache clear", func(t *testing.T) {
		code, stdout, stderr := translateCLI(context.Background(), "cache", "clear", "--cache-dir", cacheDir)
		if code != 0 || !strings.Contains(stdout, "removed 6 cached responses") {
			t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
		}
		proxy.calls.Store(0)
		if code, _, stderr := translateCLI(context.Background(), args...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := proxy.calls.Load(); got != 3 {
			t.Errorf("after clear the server saw %d calls, want 3", got)
		}
	})

	t.Run("generate mode and JSONL input", func(t *testing.T) {
		in := writeTranslateInput(t, filepath.Join(dir, "in.jsonl"), `{"id": "a1", "source": "the sun"}`+"\n"+`{"id": 2, "source": "the moon"}`+"\n")
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", spec, "-i", in, "--no-cache",
			"--mode", "generate", "--max-tokens", "5", "--temperature", "0", "--prompt", "{{.Source}} =")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		res := readResults(t, stdout)
		if res[1].ID != "a1" || res[2].ID != float64(2) || res[1].CompletionTokens != 5 || res[2].Source != "the moon" {
			t.Errorf("results: %+v", res)
		}
	})

	t.Run("adapters create and list", func(t *testing.T) {
		code, stdout, stderr := translateCLI(context.Background(), "adapters", "create",
			"--host", srv.URL, "--name", "tiny-zh-ft", "--base", ollamatest.TinyModel, "--adapter", adapter)
		if code != 0 || !strings.Contains(stdout, "--runner ollama:tiny-zh-ft") {
			t.Fatalf("create: exit %d stdout %q stderr %q", code, stdout, stderr)
		}
		code, stdout, stderr = translateCLI(context.Background(), "adapters", "list", "--host", srv.URL, "--json")
		if code != 0 {
			t.Fatalf("list: exit %d: %s", code, stderr)
		}
		var models []struct {
			Name     string   `json:"name"`
			Adapters []string `json:"adapters"`
		}
		if err := json.Unmarshal([]byte(stdout), &models); err != nil {
			t.Fatalf("list --json: %v\n%s", err, stdout)
		}
		if len(models) != 1 || models[0].Name != "tiny-zh-ft:latest" || len(models[0].Adapters) != 1 {
			t.Errorf("list (fine-tunes only) = %+v", models)
		}
		code, stdout, _ = translateCLI(context.Background(), "adapters", "list", "--host", srv.URL, "--all")
		if code != 0 || !strings.Contains(stdout, ollamatest.TinyModel) || !strings.Contains(stdout, "tiny-zh-ft") {
			t.Errorf("list --all: exit %d\n%s", code, stdout)
		}
	})

	t.Run("missing model", func(t *testing.T) {
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "ollama:llama2:13b@"+srv.URL, "-i", input, "--no-cache")
		if code != 1 || !strings.Contains(stderr, "ollama pull llama2:13b") || stdout != "" {
			t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
		}
	})

	t.Run("OpenAI runner on Ollama's /v1 keeps the key secret", func(t *testing.T) {
		const key = "sk-compat-SECRET-0123456789"
		t.Setenv("OPENAI_COMPATIBLE_API_KEY", key)
		out := filepath.Join(dir, "compat.jsonl")
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese",
			"--runner", "openai-compatible:"+ollamatest.TinyModel+"@"+proxy.URL+"/v1", "-i", input, "-o", out,
			"--cache-dir", cacheDir, "--temperature", "0", "--max-tokens", "6")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		data, _ := os.ReadFile(out)
		for n, l := range readResults(t, string(data)) {
			if l.Source != "" && (l.Output == "" || l.CompletionTokens != 6 || l.PromptTokens <= 0 || l.DoneReason != "length") {
				t.Errorf("line %d: %+v", n, l)
			}
		}
		assertNoSecret(t, key, stdout, stderr, string(data), cacheDir)
	})
}

// assertNoSecret fails if key occurs in any of texts or in any file under
// the folders among them.
func assertNoSecret(t *testing.T, key string, texts ...string) {
	t.Helper()
	for i, s := range texts {
		if st, err := os.Stat(s); err == nil && st.IsDir() {
			filepath.WalkDir(s, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(key)) {
						t.Errorf("API key found in %s", p)
					}
				}
				return nil
			})
			continue
		}
		if strings.Contains(s, key) {
			t.Errorf("API key found in output %d: %q", i, s)
		}
	}
}

func TestTranslateOpenAIKeyNeverLeaks(t *testing.T) {
	const key = "sk-proj-SECRET-abcdefghijklmnop"
	t.Setenv("OPENAI_API_KEY", key)
	// Line 1 is answered; line 2 meets a server that echoes the key in
	// its error (some do), which must still not reach any output.
	srv := faultserver.New(faultserver.OK, faultserver.EchoAuth)
	defer srv.Close()
	dir := t.TempDir()
	input := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "one\ntwo\n")
	prices := writeTranslateInput(t, filepath.Join(dir, "prices.json"), `{"models": {"fault-model": {"input_per_1m": 1000, "output_per_1m": 2000}}}`)
	out := filepath.Join(dir, "out.jsonl")
	cacheDir := filepath.Join(dir, "cache")
	code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "openai:fault-model@"+srv.URL+"/v1",
		"-i", input, "-o", out, "--cache-dir", cacheDir, "--prices", prices, "--concurrency", "1")
	if code != 1 {
		t.Errorf("exit %d, want 1 (one call failed)\n%s", code, stderr)
	}
	data, _ := os.ReadFile(out)
	res := readResults(t, string(data))
	if res[1].Output != "Hello, world." || res[1].CostUSD == nil || *res[1].CostUSD != (7*1000+3*2000)/1e6 {
		t.Errorf("line 1: %+v", res[1])
	}
	if !strings.Contains(res[2].Error, "401") || !strings.Contains(res[2].Error, "[REDACTED]") || res[2].Attempts != 1 {
		t.Errorf("line 2: %+v", res[2])
	}
	// The key did reach the server (it is the one place it belongs).
	if !strings.Contains(strings.Join(srv.Bodies(), ""), "two") {
		t.Errorf("server bodies: %v", srv.Bodies())
	}
	assertNoSecret(t, key, stdout, stderr, string(data), cacheDir)
}

func TestTranslateInterruptKeepsFinishedLines(t *testing.T) {
	srv := faultserver.New(faultserver.OK, faultserver.OK, faultserver.Hang)
	defer srv.Close()
	dir := t.TempDir()
	input := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "one\ntwo\nthree\n")
	out := filepath.Join(dir, "out.jsonl")
	args := []string{"translate", "--to", "Chinese", "--runner", "openai-compatible:fault-model@" + srv.URL + "/v1", "-i", input, "-o", out,
		"--cache-dir", filepath.Join(dir, "cache"), "--concurrency", "1"}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.Calls() < 3 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel() // Ctrl-C while line 3 hangs
	}()
	code, _, stderr := translateCLI(ctx, args...)
	if code != exitInterrupted || !strings.Contains(stderr, "interrupted: 2 of 3 lines") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	data, _ := os.ReadFile(out)
	res := readResults(t, string(data))
	if len(res) != 2 || res[1].Output == "" || res[2].Output == "" {
		t.Fatalf("kept lines: %s", data)
	}
	// Resume: only the unfinished line reaches the server.
	code, _, stderr = translateCLI(context.Background(), args...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if srv.Calls() != 4 {
		t.Errorf("server saw %d calls in all, want 4 (3 + the resumed line)", srv.Calls())
	}
	data, _ = os.ReadFile(out)
	if res := readResults(t, string(data)); len(res) != 3 || !res[1].Cached || res[3].Cached {
		t.Errorf("resumed results: %s", data)
	}
}

func TestTranslateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "a\n")
	for _, tc := range []struct {
		name  string
		input string // written to in.jsonl when not empty
		args  []string
		want  string
	}{
		{"no source field", `{"id": 1, "text": "x"}`, nil, `in.jsonl:1: no "source" string field`},
		{"bad json", "{\"source\": \"a\"}\n{oops", nil, "in.jsonl:2: not a JSON object"},
		{"source not a string", `{"source": 3}`, nil, `in.jsonl:1: no "source"`},
		{"bad spec", "", []string{"--runner", "llama2"}, "want PROVIDER:MODEL"},
		{"unknown provider", "", []string{"--runner", "hf:bert"}, `unknown provider "hf"`},
		{"bad mode", "", []string{"--mode", "complete"}, `--mode "complete"`},
		{"bad template", "", []string{"--prompt", "{{.Source"}, "--prompt"},
		{"unknown template field", "", []string{"--prompt", "{{.Text}}"}, "--prompt:1:2: .Text: no field Text"},
		{"missing file", "", []string{"-i", filepath.Join(dir, "nope.txt")}, "nope.txt"},
		{"negative temperature", "", []string{"--temperature", "-1"}, "--temperature"},
		{"temperature not a number", "", []string{"--temperature", "NaN"}, "translate: --temperature NaN: must be a finite number >= 0"},
		{"top-p above 1", "", []string{"--top-p", "1.5"}, "translate: --top-p 1.5: must be in [0, 1]"},
		{"zero context window", "", []string{"--num-ctx", "0"}, "translate: --num-ctx 0: must be positive"},
		{"credentials in URL", "", []string{"--runner", "openai-compatible:m@http://u:p@localhost/v1"}, "must not carry credentials"},
		{"openai without key", "", []string{"--runner", "openai:gpt-4o"}, "OPENAI_API_KEY is not set"},
		{"no runner", "", []string{"--runner", ""}, "--runner is required"},
		{"generate on openai", "", []string{"--mode", "generate"}, "--mode generate needs an ollama: runner"},
		{"stray argument", "", []string{"extra.txt"}, `unexpected argument "extra.txt"`},
		{"no target language", "", []string{"--to", ""}, "--to is required"},
		{"-r is not the runner", "", []string{"-r", "ollama:x"}, "-r is --refs in bertbench, the runner is --runner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", "")
			t.Setenv("OPENAI_BASE_URL", "")
			args := []string{"translate", "--to", "Chinese", "--runner", "openai-compatible:m@http://127.0.0.1:1/v1", "-i", good, "--no-cache"}
			if tc.input != "" {
				args[6] = writeTranslateInput(t, filepath.Join(t.TempDir(), "in.jsonl"), tc.input)
			}
			args = append(args, tc.args...)
			code, stdout, stderr := translateCLI(context.Background(), args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q, want it to mention %q", code, exitUsage, stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
}

// TestTranslateMissingModelStops: a model the server does not have stops
// the run before the first line (the preflight check), and a model that
// vanishes mid-run stops it after the first call that misses it, instead
// of writing one failed line per input line.
func TestTranslateMissingModelStops(t *testing.T) {
	dir := t.TempDir()
	input := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "one\ntwo\nthree\n")
	t.Run("before the first line", func(t *testing.T) {
		srv := faultserver.New(faultserver.NotFound, faultserver.NotFound, faultserver.NotFound)
		defer srv.Close()
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "openai-compatible:no-such-model@"+srv.URL+"/v1",
			"-i", input, "--no-cache", "--concurrency", "1")
		if code != exitFailure || !strings.Contains(stderr, `model "no-such-model" is not on the server`) || !strings.Contains(stderr, "check the model name") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if srv.Calls() != 1 || stdout != "" {
			t.Errorf("server saw %d calls (want 1, the check), stdout %q (want no lines)", srv.Calls(), stdout)
		}
	})
	t.Run("mid-run", func(t *testing.T) {
		srv := faultserver.New(faultserver.OK, faultserver.NotFound, faultserver.NotFound)
		defer srv.Close()
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "openai-compatible:"+faultserver.DefaultModel+"@"+srv.URL+"/v1",
			"-i", input, "--no-cache", "--concurrency", "1")
		if code != exitFailure || !strings.Contains(stderr, "stopped at line 2") || !strings.Contains(stderr, "check the model name") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if srv.Calls() != 2 {
			t.Errorf("server saw %d calls, want 2", srv.Calls())
		}
		if res := readResults(t, stdout); len(res) != 2 || res[1].Error != "" || !strings.Contains(res[2].Error, "404") {
			t.Errorf("results: %s", stdout)
		}
	})
}

// TestAdaptersAndCacheWorkAtTopLevel: `bertbench adapters` and `bertbench
// cache` are top-level commands and name themselves so in their help.
func TestAdaptersAndCacheWorkAtTopLevel(t *testing.T) {
	var out, errOut bytes.Buffer
	app := newApp(strings.NewReader(""), &out, &errOut)
	dir := t.TempDir()
	if err := app.Run([]string{"bertbench", "cache", "dir", "--cache-dir", dir}); err != nil || strings.TrimSpace(out.String()) != filepath.Join(dir, "responses") {
		t.Fatalf("cache dir: %v, stdout %q", err, out.String())
	}
	out.Reset()
	if err := app.Run([]string{"bertbench", "adapters", "create", "--help"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "bertbench adapters create [command options] --name NAME") || strings.Contains(out.String(), "translate") {
		t.Errorf("help:\n%s", out.String())
	}
}

// TestReadJSONLKeepsIDsExact: ids survive the round trip unchanged, even
// integers beyond float64's 2^53.
func TestReadJSONLKeepsIDsExact(t *testing.T) {
	dir := t.TempDir()
	in := `{"id": 12345678901234567891, "source": "a"}` + "\n" + `{"id": "x-1", "source": "b"}` + "\n"
	got, err := readSources(writeTranslateInput(t, filepath.Join(dir, "in.jsonl"), in), "auto", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(outputLine{Line: got[0].Line, ID: got[0].ID})
	if !strings.Contains(string(b), `"id":12345678901234567891`) {
		t.Errorf("id written as %s", b)
	}
	if got[1].Key != "x-1" {
		t.Errorf("string id: %v", got[1].Key)
	}
	two := writeTranslateInput(t, filepath.Join(dir, "two.jsonl"), `{"source": "a"} {"source": "b"}`)
	if _, err := readSources(two, "auto", nil); err == nil || !strings.Contains(err.Error(), "two.jsonl:1: more than one JSON value") {
		t.Errorf("two values on a line: %v", err)
	}
}

// TestTranslateInterruptDuringModelCheck: Ctrl-C while the Ollama model
// check waits is an interruption (exit 130), not a failure.
func TestTranslateInterruptDuringModelCheck(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer srv.Close()
	defer close(hang)
	input := writeTranslateInput(t, filepath.Join(t.TempDir(), "in.txt"), "one\n")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	code, stdout, stderr := translateCLI(ctx, "translate", "--to", "Chinese", "--runner", "ollama:m@"+srv.URL, "-i", input, "--no-cache")
	if code != exitInterrupted || !strings.Contains(stderr, "interrupted before the first call") || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

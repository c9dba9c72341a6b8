package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

// e2eGenerate makes the study's dataset with `bertbench generate`: the
// tiny model as the teacher writes source/reference pairs (nonsense, in
// no particular script: the language check is off and a plain "SOURCE
// REFERENCE" answer is split at its first space) into dir/dataset.jsonl.
func e2eGenerate(t *testing.T, dir, teacher string) string {
	t.Helper()
	path := filepath.Join(dir, "dataset.jsonl")
	code, stdout, stderr := runCLI(t, "", "generate", "--teacher", teacher, "--count", "4", "--max-attempts", "40",
		"--separator", " ", "--min-script-share", "0", "--min-chars", "1", "--max-chars", "400",
		"--topics", "cats,rain", "--styles", "plain", "--max-tokens", "12", "--presence-penalty", "0.5",
		"--cache-dir", filepath.Join(dir, "cache"), "-o", path)
	if code != 0 {
		t.Fatalf("generate: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	return path
}

// e2eConfig compares, on one real Ollama server (through %[1]s, a
// counting proxy): the base model, the base model with a LoRA adapter,
// and the base model through Ollama's OpenAI-compatible /v1; each item
// twice. The dataset is %[2]s, the scoring checkpoint %[3]s. The /v1
// runner names the model as /v1/models lists it (NAME:latest), so that its
// preflight needs no completion and the proxy counts generations only.
const e2eConfig = `
name: e2e
dataset: {file: "%[2]s"}
to: Chinese
runners:
  - {name: base, spec: "ollama:%[4]s@%[1]s"}
  - {name: lora, spec: "ollama:%[5]s@%[1]s"}
  - {name: v1, spec: "openai-compatible:%[4]s:latest@%[1]s/v1", concurrency: 2}
variations:
  - {name: base, runner: base, temperature: 0, seed: 1, max_tokens: 8}
  - {name: lora, runner: lora, temperature: 0, seed: 1, max_tokens: 8}
  - {name: v1, runner: v1, temperature: 0, seed: 1, max_tokens: 8}
repeat: 2
scoring: {import: "%[3]s", layer: 3, idf: true}
`

// TestRunAgainstOllama is the study end to end on a real Ollama with the
// tiny random model: `generate` with it as the teacher, then `run` with
// base vs base + LoRA adapter vs the OpenAI-compatible API, scored and
// stored; a resume and a new run call no model again.
func TestRunAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real Ollama server (make ollama)")
	}
	ctx := context.Background()
	srv := ollamatest.StartT(t)
	adapter, err := srv.CreateTiny(ctx, ollamatest.TinyModel)
	if err != nil {
		t.Fatal(err)
	}
	const lora = "bertbench-tiny-lora"
	if _, err := srv.Handle().RegisterAdapter(ctx, ollama.AdapterRequest{Name: lora, Base: ollamatest.TinyModel, Adapter: adapter}, nil); err != nil {
		t.Fatalf("RegisterAdapter: %v\n%s", err, srv.LogTail(2000))
	}
	proxy := newCountingProxy(t, srv.URL)
	dir := t.TempDir()
	ckpt, err := filepath.Abs("../../testdata/bertscore/tiny-mbert")
	if err != nil {
		t.Fatal(err)
	}
	data := e2eGenerate(t, dir, "ollama:"+ollamatest.TinyModel+"@"+srv.URL)
	cfg := filepath.Join(dir, "e2e.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(e2eConfig, proxy.URL, data, ckpt, ollamatest.TinyModel, lora)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"run", cfg, "--out", out, "--cache-dir", filepath.Join(dir, "cache")}
	const generations = 4 * 3 * 2

	code, stdout, stderr := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s\n%s", code, stdout, stderr, srv.LogTail(3000))
	}
	if got := proxy.calls.Load(); got != generations {
		t.Errorf("the server got %d model calls, want %d (one per item, variation and repeat)", got, generations)
	}
	for _, want := range []string{"base", "lora", "v1", "8/8", "truncated_output 8"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
	rows := exportRows(t, out)
	if len(rows) != generations {
		t.Fatalf("%d rows stored, want %d", len(rows), generations)
	}
	outputs := map[string]map[string]string{} // variation → item → output of repeat 0
	for _, r := range rows {
		if r.Error != "" || r.Output == "" || len(r.Scores) != 1 || r.Scores[0].F == nil {
			t.Errorf("row %+v", r)
		}
		if outputs[r.Variation] == nil {
			outputs[r.Variation] = map[string]string{}
		}
		if r.Repeat == 0 {
			outputs[r.Variation][r.Item] = r.Output
		} else if prev := outputs[r.Variation][r.Item]; prev != "" && prev != r.Output {
			t.Errorf("%s %s: repeats at temperature 0 with a seed differ: %q, %q", r.Variation, r.Item, prev, r.Output)
		}
	}
	same := 0
	for item, o := range outputs["base"] {
		if outputs["lora"][item] == o {
			same++
		}
	}
	if same == len(outputs["base"]) {
		t.Errorf("the adapter changed no output: %v", outputs)
	}

	// Step 4 of the study, from the commands a user types: compare the
	// fine-tune with its base, report it, gate on it.
	t.Run("CompareReportGate", func(t *testing.T) {
		id := latestRun(t, out)
		code, stdout, stderr := runCLI(t, "", "compare", "--store", out, "--baseline", id+":base", id+":base", id+":lora")
		if code != exitOK || !strings.Contains(stdout, "bertscore-f ") || !strings.Contains(stdout, " -> ") || !strings.Contains(stdout, "items on F:") {
			t.Errorf("compare: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		html := filepath.Join(dir, "report.html")
		if code, _, stderr := runCLI(t, "", "report", "--store", out, "--baseline", "base", "--format", "html", "-o", html); code != exitOK {
			t.Errorf("report html: exit %d: %s", code, stderr)
		} else if data, err := os.ReadFile(html); err != nil || !strings.Contains(string(data), "<svg") {
			t.Errorf("report html: %v, %d bytes", err, len(data))
		}
		code, stdout, stderr = runCLI(t, "", "report", "--store", out, "--baseline", "base", "--format", "markdown", "--fail-under", "F>=0")
		if code != exitOK || !strings.Contains(stdout, "| ✅ | `F>=0` |") || !strings.Contains(stdout, "thresholds: all 2 passed") {
			t.Errorf("report with a passing gate: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		code, stdout, stderr = runCLI(t, "", "report", "--store", out, "--baseline", "base", "--fail-under", "F>=1.01")
		if code != exitGate || !strings.Contains(stdout+stderr, "✗ F>=1.01") {
			t.Errorf("report with a failing gate: exit %d (want %d), stderr: %s", code, exitGate, stderr)
		}
	})
	t.Run("ResumeCallsNothing", func(t *testing.T) {
		proxy.calls.Store(0)
		code, stdout, stderr := runCLI(t, "", append(args, "--resume")...)
		if code != 0 || proxy.calls.Load() != 0 || !strings.Contains(stdout, fmt.Sprintf("0 of %d generations stored now (%d kept", generations, generations)) {
			t.Errorf("resume: exit %d, %d calls\nstdout: %s\nstderr: %s", code, proxy.calls.Load(), stdout, stderr)
		}
	})
	t.Run("NewRunFromTheCache", func(t *testing.T) {
		proxy.calls.Store(0)
		code, stdout, stderr := runCLI(t, "", args...)
		if code != 0 || proxy.calls.Load() != 0 {
			t.Errorf("a new run: exit %d, %d calls\nstdout: %s\nstderr: %s", code, proxy.calls.Load(), stdout, stderr)
		}
		if rows := exportRows(t, out); len(rows) != generations {
			t.Errorf("the new run holds %d rows", len(rows))
		}
	})
}

// latestRun is the id of the newest run in the store in dir, read from
// `bertbench runs list`.
func latestRun(t *testing.T, dir string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", "runs", "list", "--store", dir)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != exitOK || len(lines) < 2 {
		t.Fatalf("runs list: exit %d\n%s%s", code, stdout, stderr)
	}
	return strings.Fields(lines[len(lines)-1])[0]
}

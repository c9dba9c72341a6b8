package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchScorerJSON: --format json prints one object with the required
// keys, numbers where numbers are due, on the fixture model and real ORT.
func TestBenchScorerJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "bench", "scorer", "--model", fixturePath(t, "tiny-mbert"),
		"--pairs", "20", "--lengths", "3:12", "--warmup", "1", "--runs", "2", "--threads", "1", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("want one line of JSON, got %q", stdout)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(stdout), &obj); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	for _, k := range []string{"pairs", "pairs_per_s", "tokens_per_s", "total_s", "load_s", "tokenize_s", "encode_s", "match_s", "peak_rss_bytes",
		"padding_efficiency", "batch_p50_s", "batch_p95_s", "tokens", "runs", "warmup"} {
		v, ok := obj[k].(float64)
		if !ok || v < 0 {
			t.Errorf("%s = %#v, want a number >= 0", k, obj[k])
		}
	}
	for _, k := range []string{"pairs_per_s", "tokens_per_s", "total_s", "load_s", "encode_s", "peak_rss_bytes", "tokens"} {
		if v, _ := obj[k].(float64); v <= 0 {
			t.Errorf("%s = %v, want > 0", k, obj[k])
		}
	}
	if obj["pairs"] != 20.0 || obj["runs"] != 2.0 || obj["warmup"] != 1.0 {
		t.Errorf("pairs %v, runs %v, warmup %v; want 20, 2, 1", obj["pairs"], obj["runs"], obj["warmup"])
	}
	if e, _ := obj["padding_efficiency"].(float64); e <= 0 || e > 1 {
		t.Errorf("padding_efficiency %v, want in (0, 1]", e)
	}
	if obj["device"] != "cpu" || obj["precision"] != "fp32" || obj["model"] != "tiny-mbert" {
		t.Errorf("device %v, precision %v, model %v", obj["device"], obj["precision"], obj["model"])
	}
}

// TestBenchScorerCountsEncodedTokens: pairs read with -c/-r that repeat
// one sentence count its tokens once a run, not once a line; the text
// output says so.
func TestBenchScorerCountsEncodedTokens(t *testing.T) {
	dir := t.TempDir()
	model := fixturePath(t, "tiny-mbert")
	tokensOf := func(lines int) float64 {
		t.Helper()
		cands := writeLines(t, dir, "c.txt", repeatLine("the cat sat on the mat", lines))
		refs := writeLines(t, dir, "r.txt", repeatLine("a cat was on the mat", lines))
		code, stdout, stderr := runCLI(t, "", "bench", "scorer", "--model", model, "-c", cands, "-r", refs, "--runs", "1", "--warmup", "0", "-f", "json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var obj struct {
			Pairs  int     `json:"pairs"`
			Tokens float64 `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(stdout), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Pairs != lines {
			t.Fatalf("%d pairs, want %d", obj.Pairs, lines)
		}
		return obj.Tokens
	}
	one, many := tokensOf(1), tokensOf(40)
	if one <= 0 || many != one {
		t.Errorf("40 copies of a pair encode %v tokens, one copy %v: want the same (the encoder runs each distinct sentence once)", many, one)
	}
	code, stdout, stderr := runCLI(t, "", "bench", "scorer", "--model", model, "--pairs", "5", "--runs", "1")
	if code != exitOK || !strings.Contains(stdout, "pairs/s") || !strings.Contains(stdout, "padding efficiency") || !strings.Contains(stdout, "p95") {
		t.Errorf("text output: exit %d, %q, %s", code, stdout, stderr)
	}
}

func repeatLine(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestBenchScorerInt8: --precision int8 benchmarks a model built with
// `models import --precision int8` (and reports int8); an int8 model
// asked for as fp32 is refused with one line.
func TestBenchScorerInt8(t *testing.T) {
	model := filepath.Join(t.TempDir(), "tiny-mbert-int8")
	if code, _, stderr := runCLI(t, "", "models", "import", fixturePath(t, "tiny-mbert"), "--layer", "3", "--precision", "int8", "-o", model); code != exitOK {
		t.Fatalf("models import --precision int8: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "", "bench", "scorer", "--model", model, "--precision", "int8", "--pairs", "10", "--runs", "1", "--threads", "1", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var obj struct {
		Precision, Model string
	}
	if err := json.Unmarshal([]byte(stdout), &obj); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if obj.Precision != "int8" || obj.Model != "tiny-mbert-int8" {
		t.Errorf("precision %q, model %q; want int8, tiny-mbert-int8", obj.Precision, obj.Model)
	}
	code, stdout, stderr = runCLI(t, "", "bench", "scorer", "--model", model, "--precision", "fp32", "--pairs", "10", "--runs", "1")
	if want := "precision fp32 asked for, but model tiny-mbert-int8 computes in int8"; code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
		t.Errorf("--precision fp32 on an int8 model: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", code, stdout, stderr, want)
	}
}

// TestBenchScorerUsage: bad flags exit 2 with one line naming the flag,
// before the model is opened.
func TestBenchScorerUsage(t *testing.T) {
	dir := t.TempDir()
	refs := writeLines(t, dir, "r.txt", []string{"a"})
	model := fixturePath(t, "tiny-mbert")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--precision", "int8"}, "precision int8 asked for, but model tiny-mbert computes in fp32: the precision is chosen when the model is built (`bertbench models import|pull|synth --precision int8`)"},
		{[]string{"--precision", "fp16"}, "precision fp16 asked for, but model tiny-mbert computes in fp32"},
		{[]string{"--precision", "fp64"}, `unknown --precision "fp64" (want fp32, tf32, fp16, int8)`},
		{[]string{"--precision", "tf32"}, "--precision tf32 only applies with --device cuda"},
		{[]string{"--lengths", "40:15"}, "--lengths \"40:15\": want 1 <= MIN <= MAX"},
		{[]string{"--lengths", "many"}, "is not N or MIN:MAX"},
		{[]string{"--pairs", "0"}, "--pairs must be at least 1"},
		{[]string{"--runs", "0"}, "--runs must be at least 1"},
		{[]string{"--warmup", "-1"}, "--warmup must not be negative"},
		{[]string{"--threads", "100000"}, "--threads 100000 is more than"},
		{[]string{"--device", "tpu"}, "--device"},
		{[]string{"--format", "csv"}, `unknown --format "csv" (want text or json)`},
		{[]string{"-r", refs}, "-c and -r go together"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		args := append([]string{"bench", "scorer", "--model", model}, tc.args...)
		code, stdout, stderr := runCLI(t, "", args...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/store"
)

// studyStore writes one run "study" of two variations, "base" and
// "tuned", over 20 items, scored with rescaled scores: tuned's F is
// base's + 0.02 (item-05's output holds markup), and a second, older run
// "old" of one variation. It returns the output folder.
func studyStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.PathIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, run := range []string{"old", "study"} {
		vars := []store.Variation{{Name: "base", Runner: "ollama:m", Prompt: "{{.Source}}", TargetLang: "zh"}}
		if run == "study" {
			vars = append(vars, store.Variation{Name: "tuned", Runner: "ollama:m-ft", Prompt: "{{.Source}}", TargetLang: "zh"})
		}
		r, err := s.CreateRun(ctx, store.RunConfig{ID: run, Config: "x\n", ConfigHash: "h-" + run, ToolVersion: "v-test", Variations: vars})
		if err != nil {
			t.Fatal(err)
		}
		var items []store.Item
		for i := range 20 {
			items = append(items, store.Item{ID: fmt.Sprintf("item-%02d", i), Source: fmt.Sprintf("source %d", i), References: []string{"参考"}})
		}
		if err := r.PutItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		const hash = "abcdef0123456789"
		if err := r.AddScoring(ctx, hash, `{"model":"m"}`); err != nil {
			t.Fatal(err)
		}
		var scores []store.Score
		for i, it := range items {
			for _, v := range vars {
				k := store.Key{Variation: v.Name, Item: it.ID}
				res := runners.Result{Output: "你好世界", Latency: runners.Duration(int64(200+10*i) * 1e6), Attempts: 1, CompletionTokens: 10}
				f := 0.80 + 0.004*float64(i%5)
				if v.Name == "tuned" {
					f += 0.02
					res.Output = "你好，世界"
					if i == 5 {
						res.Output = "<script>alert(1)</script>"
					}
				}
				if _, err := r.PutGeneration(ctx, store.Generation{Key: k, Result: res}); err != nil {
					t.Fatal(err)
				}
				scores = append(scores, store.Score{Key: k, Raw: store.PRF{P: f, R: f, F: f}, Rescaled: &store.PRF{P: 3*f - 2, R: 3*f - 2, F: 3*f - 2}})
			}
		}
		if _, err := r.PutScores(ctx, hash, scores); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestReportCLI: `bertbench report` makes every format of a run's
// comparison from the store alone (no encoder: ONNX Runtime points
// nowhere), the same bytes as `bertbench compare RUN`, to stdout or -o.
func TestReportCLI(t *testing.T) {
	dir := studyStore(t)
	t.Setenv("BERTBENCH_ORT_LIB", "/nonexistent/libonnxruntime.so.1")
	quick := []string{"--resamples", "300", "--permutations", "300"}
	for _, format := range []string{"text", "json", "csv", "markdown", "html"} {
		t.Run(format, func(t *testing.T) {
			args := append(append([]string{"report", "--store", dir, "--format", format}, quick...), "study")
			out := mustRun(t, args...)
			cmp := mustRun(t, append(append([]string{"compare", "--store", dir, "--format", format}, quick...), "study")...)
			if out != cmp {
				t.Errorf("report and compare differ:\n%s\n---\n%s", out, cmp)
			}
			if latest := mustRun(t, append([]string{"report", "--store", dir, "--format", format}, quick...)...); latest != out {
				t.Error("report without RUN is not the latest run's report")
			}
			file := filepath.Join(t.TempDir(), "report."+format)
			if got := mustRun(t, append(append([]string{"report", "--store", dir, "--format", format, "-o", file}, quick...), "study")...); got != "" {
				t.Errorf("with -o, stdout %q", got)
			}
			b, err := os.ReadFile(file)
			if err != nil || string(b) != out {
				t.Errorf("-o %s: %v, %d bytes, want the %d of stdout", file, err, len(b), len(out))
			}
			if format != "json" && format != "csv" && strings.Contains(out, "<script>alert(1)") {
				t.Errorf("%s holds the output's markup unescaped", format)
			}
		})
	}
	text := mustRun(t, append([]string{"report", "--store", dir, "--baseline", "tuned"}, quick...)...)
	if !strings.Contains(text, "baseline study:tuned;") || !strings.Contains(text, "study:base vs study:tuned") {
		t.Errorf("--baseline tuned:\n%s", text)
	}
	text = mustRun(t, append([]string{"report", "--store", dir, "--baseline", "old:base"}, quick...)...)
	if !strings.Contains(text, "baseline old:base;") || !strings.Contains(text, "study:tuned vs old:base") {
		t.Errorf("--baseline old:base:\n%s", text)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--store", dir, "nope"}, "report: "},
		{[]string{"report", "--store", dir, "--baseline", "zzz", "study"}, `report: run study has no variation "zzz"`},
		{[]string{"report", "--store", dir, "study", "old"}, "report: want one RUN, got 2 arguments"},
		{[]string{"report", "--store", dir, "study:base"}, "report: \"study:base\": want a run id"},
		{[]string{"report", "--store", dir, "--format", "pdf", "study"}, `report: invalid value "pdf" for --format: want text, json, csv, markdown or html`},
		{[]string{"report", "--store", dir, "-o", filepath.Join(dir, "no", "such", "f.html"), "study"}, "report: -o: "},
		{[]string{"report", "--store", t.TempDir()}, "no results store at"},
		{[]string{"report", "--store", dir, "study", "--seed", "2"}, "report: flag --seed after the run id"},
	} {
		code, stdout, stderr := runCLI(t, "", tt.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("bertbench %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(tt.args, " "), code, stdout, stderr, tt.want)
		}
	}
}

// TestGateExitCodes: thresholds that hold exit 0, one that fails exits 3
// after the report was written, a threshold that is wrong exits 2 before
// anything is written; every threshold is printed ✓ or ✗ with its number.
func TestGateExitCodes(t *testing.T) {
	dir := studyStore(t)
	quick := []string{"--resamples", "300", "--permutations", "300"}
	cmd := func(args ...string) []string {
		return append(append([]string{"compare", "--store", dir}, quick...), args...)
	}

	t.Run("pass", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "", cmd("--fail-under", "F>=0.80", "--max-regression", "F:-0.01", "--baseline", "study:base",
			"--threshold", "F.ci_low>=0.78", "--threshold", "latency.p95<=1000", "study")...)
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		for _, want := range []string{"thresholds: all 4 passed", "✓ F>=0.80  study:tuned  0.828", "✓ F:-0.01  study:tuned  0.02 (Δ F mean)", "✓ F.ci_low>=0.78  study:tuned", "✓ latency.p95<=1000  study:tuned  380"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("fail", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "r.md")
		code, stdout, stderr := runCLI(t, "", cmd("--format", "markdown", "-o", file, "--fail-under", "F>=0.80", "--max-regression", "F:+0.05", "study")...)
		if code != exitGate {
			t.Fatalf("exit %d (want %d), stderr %q", code, exitGate, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		want := []string{"✓ F>=0.80  study:tuned  0.828", "✗ F:+0.05  study:tuned  0.02 (Δ F mean)",
			"bertbench: compare: 1 of 2 thresholds failed: F:+0.05 on study:tuned"}
		if stdout != "" || len(lines) != 3 || lines[0] != want[0] || lines[1] != want[1] || lines[2] != want[2] {
			t.Errorf("stdout %q, stderr:\n%s\nwant:\n%s", stdout, stderr, strings.Join(want, "\n"))
		}
		md, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(md), "### ❌ thresholds: 1 of 2 failed") {
			t.Errorf("the report was not written before the gate failed: %v\n%s", err, md)
		}
		// A value that is missing fails too, with why.
		code, _, stderr = runCLI(t, "", cmd("--format", "json", "--threshold", "cost_usd<=1", "study")...)
		if code != exitGate || !strings.Contains(stderr, "✗ cost_usd<=1  study:tuned  no priced live call") {
			t.Errorf("a missing value: exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("error", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{cmd("--fail-under", "F>>0.8", "study"), `compare: --fail-under: threshold "F>>0.8": ">0.8" is not a number`},
			{cmd("--fail-under", "F:-0.01", "study"), `compare: --fail-under "F:-0.01": want a lower bound`},
			{cmd("--fail-under", "latency.p95<=100", "study"), `compare: --fail-under "latency.p95<=100": want a lower bound`},
			{cmd("--max-regression", "F>=0.8", "study"), `compare: --max-regression "F>=0.8": want a change against the baseline`},
			{cmd("--max-regression", "F:0.01", "study"), "write the change's sign"},
			{cmd("--threshold", "Q>=1", "study"), `unknown target "Q"`},
			{cmd("--max-regression", "F:-0.01", "study:base"), "compares with the baseline: name another side"},
		} {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("bertbench %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(tt.args[len(quick)+3:], " "), code, stdout, stderr, tt.want)
			}
		}
	})
	t.Run("report", func(t *testing.T) {
		code, _, stderr := runCLI(t, "", append([]string{"report", "--store", dir, "--format", "html", "-o", filepath.Join(t.TempDir(), "r.html"), "--fail-under", "F.rescaled>=0.9"}, quick...)...)
		if code != exitGate || !strings.Contains(stderr, "✗ F.rescaled>=0.9  study:tuned  0.48") {
			t.Errorf("report gate: exit %d, stderr %q", code, stderr)
		}
	})
}

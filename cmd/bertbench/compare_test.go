package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/store"
)

// compareStore writes two runs, "base" and "new", of one variation "v"
// over 30 items, scored under one configuration with rescaled scores:
// new's F is base's + 0.02 on every item but item-07 (failed on new), and
// new has one English output for the Chinese target.
func compareStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.PathIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, run := range []string{"base", "new"} {
		r, err := s.CreateRun(ctx, store.RunConfig{ID: run, Config: "x\n", ConfigHash: "h-" + run, ToolVersion: "v-test",
			Variations: []store.Variation{{Name: "v", Runner: "ollama:m", Prompt: "{{.Source}}", TargetLang: "zh"}}})
		if err != nil {
			t.Fatal(err)
		}
		var items []store.Item
		for i := range 30 {
			items = append(items, store.Item{ID: fmt.Sprintf("item-%02d", i), Source: fmt.Sprintf("source %d", i), References: []string{"参考"}})
		}
		if err := r.PutItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		if err := r.AddScoring(ctx, "5c0e1234567890abcdef", `{"model":"m"}`); err != nil {
			t.Fatal(err)
		}
		var scores []store.Score
		for i, it := range items {
			k := store.Key{Variation: "v", Item: it.ID}
			res := runners.Result{Output: "你好世界", Latency: runners.Duration(int64(100+10*i) * 1e6), Attempts: 1, PromptTokens: 5, CompletionTokens: 10}
			if run == "new" && i == 7 {
				res = runners.Result{Error: "HTTP 500", Attempts: 3}
			}
			if run == "new" && i == 3 {
				res.Output = "Hello world, in English."
			}
			if _, err := r.PutGeneration(ctx, store.Generation{Key: k, Result: res}); err != nil {
				t.Fatal(err)
			}
			if res.Error != "" {
				continue
			}
			f := 0.80 + 0.003*float64(i%5)
			if run == "new" {
				f += 0.02
			}
			scores = append(scores, store.Score{Key: k, Raw: store.PRF{P: f, R: f, F: f}, Rescaled: &store.PRF{P: 3*f - 2, R: 3*f - 2, F: 3*f - 2}})
		}
		if _, err := r.PutScores(ctx, "5c0e1234567890abcdef", scores); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCompareCLI(t *testing.T) {
	dir := compareStore(t)
	out := mustRun(t, "compare", "--store", dir, "--resamples", "2000", "--permutations", "2000", "base", "new:v")
	for _, want := range []string{
		"baseline base:v; scoring 5c0e1234567890abcdef; 95 % CI, bootstrap over items, 2000 resamples, 2000 permutations, seed 1",
		"items    29 compared of 30; left out item-07",
		"new:v vs base:v",
		"bertscore-f 0.806 -> 0.826 (+2.5%): +0.020, 95 % CI +0.020 to +0.020, p = 0.0005",
		"bertscore-f-rescaled 0.418 -> 0.478 (+14.4%): +0.060, 95 % CI +0.060 to +0.060",
		"items on F: 29 wins, 0 ties, 0 losses",
		"wrong_language 1 (3.3 %)",
		"new:v: 1 item without a score (failed or not scored): item-07",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if again := mustRun(t, "compare", "--store", dir, "--resamples", "2000", "--permutations", "2000", "base", "new:v"); again != out {
		t.Error("the same command printed another comparison")
	}

	one := mustRun(t, "compare", "--store", dir, "--resamples", "100", "new")
	if !strings.Contains(one, "baseline new:v;") || strings.Contains(one, " vs ") || !strings.Contains(one, "new:v (baseline)  p      0.826") {
		t.Errorf("one side:\n%s", one)
	}

	js := mustRun(t, "compare", "-s", dir, "-f", "json", "--resamples", "500", "--permutations", "500", "--baseline", "new", "base")
	var c struct {
		Schema   string `json:"schema"`
		Baseline struct{ Run string }
		Sides    []struct {
			Run   string `json:"run"`
			Delta *struct {
				Raw struct{ F struct{ Mean float64 } }
			} `json:"delta"`
		} `json:"sides"`
		Items []struct {
			ID     string                       `json:"id"`
			Source string                       `json:"source"`
			Sides  []struct{ Outputs []string } `json:"sides"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if c.Schema != "bertbench.compare/1" || c.Baseline.Run != "new" || len(c.Sides) != 2 || c.Sides[0].Run != "new" ||
		c.Sides[1].Delta == nil || c.Sides[1].Delta.Raw.F.Mean > -0.0199 || len(c.Items) != 30 ||
		c.Items[3].Source != "source 3" || c.Items[3].Sides[0].Outputs[0] != "Hello world, in English." {
		t.Errorf("JSON %+v", c)
	}
}

func TestCompareCLI_UsageErrors(t *testing.T) {
	dir := compareStore(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "--store", dir, "nope"}, "compare: no such run: nope"},
		{[]string{"compare", "--store", dir, "base:w"}, `compare: run base has no variation "w" (its variations: v)`},
		{[]string{"compare", "--store", dir, "base:"}, `compare: side "base:": empty variation`},
		{[]string{"compare", "--store", dir, "--baseline", ":x", "base"}, "compare: --baseline: side \":x\": no run id"},
		{[]string{"compare", "--store", dir, "--scoring", "ff", "base"}, "compare: run base has no scoring configuration ff"},
		{[]string{"compare", "--store", dir, "--format", "xml", "base"}, `compare: invalid value "xml" for --format: want text, json, csv, markdown or html`},
		{[]string{"compare", "--store", dir, "base", "--seed", "2"}, "compare: flag --seed after the sides"},
		{[]string{"compare", "--store", dir, "--resamples", "0", "base"}, "compare: --resamples and --permutations must be at least 1"},
		{[]string{"compare", "--store", t.TempDir(), "base"}, "compare: no results store at"},
	} {
		code, stdout, stderr := runCLI(t, "", tt.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("bertbench %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(tt.args[1:], " "), code, stdout, stderr, tt.want)
		}
	}
}

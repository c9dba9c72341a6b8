package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
	"github.com/bertbench/bertbench/store"
)

const runsTestConfig = "variations:\n  - name: zh\n"

// runsStore writes a store in a new folder with one run: two variations
// (the second asked twice) over three items, five generations (one
// failed, two in English for a Chinese target), one scoring.
func runsStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.PathIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.CreateRun(ctx, store.RunConfig{ID: "r1", Config: runsTestConfig, ConfigHash: "cafe0123456789", ToolVersion: "v-test",
		Variations: []store.Variation{
			{Name: "llama", Runner: "ollama:llama2:13b", Prompt: "{{.Source}}", TargetLang: "zh"},
			{Name: "gpt", Runner: "openai:gpt-3.5-turbo", Prompt: "{{.Source}}", Repeats: 2, TargetLang: "zh"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	var items []store.Item
	for _, id := range []string{"i1", "i2", "i3"} {
		items = append(items, store.Item{ID: id, Source: "source " + id, References: []string{"参考 " + id}})
	}
	if err := r.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	cost := 0.25
	for _, g := range []struct {
		k   store.Key
		res runners.Result
	}{
		{store.Key{Variation: "llama", Item: "i1"}, runners.Result{Output: "你好", Attempts: 1, PromptTokens: 10, CompletionTokens: 2}},
		{store.Key{Variation: "llama", Item: "i2"}, runners.Result{Output: "Hello there", Attempts: 1}},
		{store.Key{Variation: "llama", Item: "i3"}, runners.Result{Output: "Hi", Cached: true}},
		{store.Key{Variation: "gpt", Item: "i1"}, runners.Result{Error: "HTTP 429", Attempts: 4}},
		{store.Key{Variation: "gpt", Item: "i1", Repeat: 1}, runners.Result{Output: "你好", Attempts: 1, CostUSD: &cost}},
	} {
		if _, err := r.PutGeneration(ctx, store.Generation{Key: g.k, Result: g.res}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddScoring(ctx, "5c0de5c0de5c0de5", `{"model":"tiny"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutScores(ctx, "5c0de5c0de5c0de5", []store.Score{{Key: store.Key{Variation: "llama", Item: "i1"}, Raw: store.PRF{P: 0.9, R: 0.8, F: 0.85}}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunsList(t *testing.T) {
	dir := runsStore(t)
	out := mustRun(t, "runs", "list", "--store", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "r1 ") {
		t.Fatalf("list:\n%s", out)
	}
	for _, f := range []string{"unfinished", "5/9", "v-test"} {
		if !strings.Contains(lines[1], f) {
			t.Errorf("list row %q lacks %q", lines[1], f)
		}
	}
	var runs []store.RunSummary
	if err := json.Unmarshal([]byte(mustRun(t, "runs", "list", "--json", "-s", store.PathIn(dir))), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "r1" || runs[0].Generations != 5 || runs[0].Failed != 1 || runs[0].Scores != 1 {
		t.Errorf("list --json: %+v", runs)
	}
}

func TestRunsShow(t *testing.T) {
	dir := runsStore(t)
	out := mustRun(t, "runs", "show", "--store", dir)
	for _, want := range []string{"run          r1", "generations  5 of 9 (1 failed)", "cafe0123456789",
		"wrong_language 2", "error 1", "5c0de5c0de5c0de5  1 scores", "    - name: zh", "0.2500"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if got := mustRun(t, "runs", "show", "--store", dir, "--config", "r1"); got != runsTestConfig {
		t.Errorf("show --config: %q, want %q", got, runsTestConfig)
	}
	var d store.RunDetail
	if err := json.Unmarshal([]byte(mustRun(t, "runs", "show", "--store", dir, "--json")), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Variations) != 2 || d.Variations[0].Flags[outputcheck.WrongLanguage] != 2 || d.Variations[1].Failed != 1 {
		t.Errorf("show --json: %+v", d)
	}
}

func TestRunsExport(t *testing.T) {
	dir := runsStore(t)
	out := mustRun(t, "runs", "export", "--store", dir, "r1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d JSONL lines:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["variation"] != "llama" || first["item"] != "i1" || len(first["scores"].([]any)) != 1 {
		t.Errorf("first line: %s", lines[0])
	}

	path := filepath.Join(t.TempDir(), "r1.csv")
	if out := mustRun(t, "runs", "export", "--store", dir, "--format", "csv", "-o", path); out != "" {
		t.Errorf("export -o wrote to stdout: %q", out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || recs[0][0] != "run" || !strings.HasPrefix(recs[0][len(recs[0])-1], "5c0de5c0de5c.") {
		t.Errorf("csv: %v", recs)
	}
}

// TestRunsErrors: a missing store or run is exit 2 with one line saying
// what to do, and export then creates no file.
func TestRunsErrors(t *testing.T) {
	dir := runsStore(t)
	empty := t.TempDir()
	out := filepath.Join(empty, "x.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"runs", "list", "--store", empty}, "no results store at " + store.PathIn(empty) + ": run an experiment"},
		{[]string{"runs", "show", "--store", filepath.Join(empty, "nope.db")}, "no results store at"},
		{[]string{"runs", "show", "--store", dir, "r9"}, "no such run: r9"},
		{[]string{"runs", "export", "--store", dir, "-o", out, "r9"}, "no such run: r9"},
		{[]string{"runs", "show", "--store", dir, "--json", "--config"}, "exclude each other"},
		{[]string{"runs", "show", "r1", "--store", dir}, "put flags before RUN"},
		{[]string{"runs", "list", "r1"}, `unexpected argument "r1"`},
	} {
		code, stdout, stderr := runCLI(t, "", tc.args...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("export for a missing run left %s", out)
	}
	if _, err := os.Stat(store.PathIn(empty)); !os.IsNotExist(err) {
		t.Errorf("reading a folder without a store created one")
	}
}

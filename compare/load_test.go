package compare

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
	"github.com/bertbench/bertbench/store"
)

// testStore writes two runs into a real store:
//   - r1, variations "a" (one repeat) and "b" (two repeats), items
//     item-0..item-4, scored under h1 (rescaled) and h2; b's item-3
//     repeat 1 failed; a's item-4 is not asked;
//   - r2, variation "a", items item-1..item-5, scored under h1;
//   - r3, one item scored under h3 only; r4, not scored.
func testStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.PathIn(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	cost := 0.001
	put := func(run *store.Run, variation string, items []string, repeats int, score func(item, rep int) float64, skip func(item, rep int) string, hashes ...string) {
		t.Helper()
		var scores []store.Score
		for i, id := range items {
			n := 0
			fmt.Sscanf(id, "item-%d", &n)
			for rep := range repeats {
				what := skip(n, rep)
				if what == "skip" {
					continue
				}
				res := runners.Result{Output: fmt.Sprintf("你好 %s %s %d", variation, id, rep), Latency: runners.Duration(time.Duration(100+i) * time.Millisecond),
					TTFT: runners.Duration(20 * time.Millisecond), PromptTokens: 10, CompletionTokens: 20, Attempts: 1, CostUSD: &cost}
				if what == "fail" {
					res = runners.Result{Error: "HTTP 500", Attempts: 3}
				}
				if what == "english" {
					res.Output = "Hello there, this is English."
				}
				if _, err := run.PutGeneration(ctx, store.Generation{Key: store.Key{Variation: variation, Item: id, Repeat: rep}, Result: res}); err != nil {
					t.Fatal(err)
				}
				if what == "fail" {
					continue
				}
				v := score(n, rep)
				scores = append(scores, store.Score{Key: store.Key{Variation: variation, Item: id, Repeat: rep}, Raw: store.PRF{P: v, R: v, F: v}, Rescaled: &store.PRF{P: 2*v - 1, R: 2*v - 1, F: 2*v - 1}})
			}
		}
		for _, h := range hashes {
			if _, err := run.PutScores(ctx, h, scores); err != nil {
				t.Fatal(err)
			}
		}
	}
	mkRun := func(id string, vars []store.Variation, items []string, hashes ...string) *store.Run {
		t.Helper()
		run, err := st.CreateRun(ctx, store.RunConfig{ID: id, Config: "x", ConfigHash: "hash-" + id, ToolVersion: "test", Variations: vars})
		if err != nil {
			t.Fatal(err)
		}
		var its []store.Item
		for _, it := range items {
			its = append(its, store.Item{ID: it, Source: "source " + it, References: []string{"参考 " + it}})
		}
		if err := run.PutItems(ctx, its); err != nil {
			t.Fatal(err)
		}
		for _, h := range hashes {
			if err := run.AddScoring(ctx, h, `{"model":"`+h+`"}`); err != nil {
				t.Fatal(err)
			}
		}
		return run
	}
	none := func(int, int) string { return "" }
	r1 := mkRun("r1", []store.Variation{{Name: "a", TargetLang: "zh"}, {Name: "b", Repeats: 2, TargetLang: "zh"}}, []string{"item-0", "item-1", "item-2", "item-3", "item-4"}, "h1aaaa", "h2bbbb")
	put(r1, "a", []string{"item-0", "item-1", "item-2", "item-3", "item-4"}, 1, func(i, _ int) float64 { return 0.80 + 0.01*float64(i) },
		func(i, _ int) string {
			if i == 4 {
				return "skip"
			}
			return ""
		}, "h1aaaa", "h2bbbb")
	put(r1, "b", []string{"item-0", "item-1", "item-2", "item-3", "item-4"}, 2, func(i, rep int) float64 { return 0.82 + 0.01*float64(i) + 0.002*float64(rep) },
		func(i, rep int) string {
			switch {
			case i == 3 && rep == 1:
				return "fail"
			case i == 2 && rep == 0:
				return "english"
			}
			return ""
		}, "h1aaaa", "h2bbbb")
	r2 := mkRun("r2", []store.Variation{{Name: "a", TargetLang: "zh"}}, []string{"item-1", "item-2", "item-3", "item-4", "item-5"}, "h1aaaa")
	put(r2, "a", []string{"item-1", "item-2", "item-3", "item-4", "item-5"}, 1, func(i, _ int) float64 { return 0.79 + 0.01*float64(i) }, none, "h1aaaa")
	r3 := mkRun("r3", []store.Variation{{Name: "a"}}, []string{"item-1"}, "h3cccc")
	put(r3, "a", []string{"item-1"}, 1, func(int, int) float64 { return 0.9 }, none, "h3cccc")
	mkRun("r4", []store.Variation{{Name: "a"}}, []string{"item-1"})
	return st
}

func TestLoad(t *testing.T) {
	st := testStore(t)
	ctx := t.Context()
	in, err := Load(ctx, st, []Side{{Run: "r1"}}, LoadOptions{Scoring: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Sides) != 2 || in.Sides[0].Side != (Side{"r1", "a"}) || in.Sides[1].Side != (Side{"r1", "b"}) || in.Baseline != 0 || in.Scoring != "h1aaaa" {
		t.Fatalf("sides %+v baseline %d scoring %q", in.Sides, in.Baseline, in.Scoring)
	}
	if n := len(in.Sides[0].Generations); n != 4 {
		t.Errorf("side a: %d generations, want 4", n)
	}
	if n := len(in.Sides[1].Generations); n != 10 {
		t.Errorf("side b: %d generations, want 10", n)
	}
	if ids := itemIDs(in.Sides[1].Items); !slices.Equal(ids, []string{"item-0", "item-1", "item-2", "item-3", "item-4"}) {
		t.Errorf("items %v", ids)
	}
	c := mustCompare(t, *in, Options{Resamples: 500, Permutations: 500})
	// a has no item-4: four items compared; b's item-3 has one scored
	// repeat of two.
	if c.Alignment.Compared != 4 || !slices.Equal(c.Alignment.Excluded, []string{"item-4"}) || !slices.Equal(c.Sides[0].Coverage.Missing, []string{"item-4"}) {
		t.Errorf("alignment %+v, a's coverage %+v", c.Alignment, c.Sides[0].Coverage)
	}
	if !c.Settings.TwoLevel || c.Sides[1].Quality.Generations != 7 {
		t.Errorf("two-level %v, b's scored generations %d, want true and 7", c.Settings.TwoLevel, c.Sides[1].Quality.Generations)
	}
	// b − a: +0.02 per item, +0.001 on average over two repeats, except
	// item-3 (one repeat: +0.02).
	want := (0.021*3 + 0.02) / 4
	if d := c.Sides[1].Delta.Raw.F; math.Abs(d.Mean-want) > 1e-12 || d.Wins != 4 {
		t.Errorf("Δ F %+v, want %g with four wins", d, want)
	}
	if d := c.Sides[1].Delta.Rescaled; d == nil || math.Abs(d.F.Mean-2*want) > 1e-12 {
		t.Errorf("Δ F rescaled %+v, want %g", d, 2*want)
	}
	p := c.Sides[1].Perf
	if p.Errors != 1 || p.Live != 9 || p.Flags[outputcheck.WrongLanguage].Count != 1 || p.Flags[outputcheck.Error].Count != 1 || p.LatencyMS == nil || p.LatencyMS.N != 9 {
		t.Errorf("b perf %+v", p)
	}
	if p.CostUSD == nil || math.Abs(*p.CostUSD-0.009) > 1e-12 || math.Abs(*p.CostPerItemUSD-0.009/5) > 1e-12 {
		t.Errorf("b cost %v per item %v", p.CostUSD, p.CostPerItemUSD)
	}
	row := c.Items[2]
	if row.ID != "item-2" || row.Source != "source item-2" || !slices.Equal(row.References, []string{"参考 item-2"}) ||
		!slices.Equal(row.Sides[1].Outputs, []string{"Hello there, this is English.", "你好 b item-2 1"}) ||
		!slices.Equal(row.Sides[1].Flags, []outputcheck.Flag{outputcheck.WrongLanguage}) {
		t.Errorf("row item-2 %+v", row)
	}
	// Latencies by repeat, of live calls only: item-3's repeat 1 failed.
	if l := c.Items[3].Sides[1].LatencyMS; len(l) != 2 || l[0] == nil || *l[0] != 103 || l[1] != nil {
		t.Errorf("item-3 latencies %v, want [103 null]", l)
	}

	t.Run("BetweenRuns", func(t *testing.T) {
		in, err := Load(ctx, st, []Side{{Run: "r1", Variation: "a"}, {Run: "r2"}}, LoadOptions{Baseline: Side{Run: "r2"}})
		if err != nil {
			t.Fatal(err)
		}
		if in.Baseline != 1 || in.Scoring != "h1aaaa" {
			t.Fatalf("baseline %d scoring %q, want 1 and the one scoring both runs have", in.Baseline, in.Scoring)
		}
		c := mustCompare(t, *in, Options{Resamples: 200, Permutations: 200})
		// r1:a has item-0..3, r2:a item-1..5: item-1..3 compared.
		if c.Baseline != (Side{"r2", "a"}) || c.Alignment.Compared != 3 || !slices.Equal(c.Alignment.Excluded, []string{"item-4", "item-5", "item-0"}) {
			t.Errorf("baseline %v alignment %+v", c.Baseline, c.Alignment)
		}
		if d := c.Sides[0].Delta.Raw.F; math.Abs(d.Mean-0.01) > 1e-12 {
			t.Errorf("Δ F %+v, want +0.01", d)
		}
	})
	t.Run("BaselineAdded", func(t *testing.T) {
		in, err := Load(ctx, st, []Side{{Run: "r1", Variation: "b"}}, LoadOptions{Baseline: Side{Run: "r1", Variation: "a"}, NoText: true, Scoring: "h2b"})
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Sides) != 2 || in.Sides[0].Side != (Side{"r1", "a"}) || in.Baseline != 0 || in.Scoring != "h2bbbb" {
			t.Fatalf("sides %+v baseline %d", in.Sides, in.Baseline)
		}
		for _, g := range in.Sides[1].Generations {
			if g.Output != "" {
				t.Fatalf("NoText: output %q kept", g.Output)
			}
		}
		if in.Sides[1].Items[0].Source != "" {
			t.Error("NoText: source kept")
		}
	})
}

func itemIDs(items []Item) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestLoad_Errors(t *testing.T) {
	st := testStore(t)
	tests := []struct {
		name  string
		sides []Side
		opts  LoadOptions
		want  string
	}{
		{"unknown run", []Side{{Run: "r9"}}, LoadOptions{}, "no such run: r9"},
		{"unknown variation", []Side{{Run: "r1", Variation: "c"}}, LoadOptions{}, `run r1 has no variation "c" (its variations: a, b)`},
		{"two scorings", []Side{{Run: "r1"}}, LoadOptions{}, "2 scoring configurations fit (h1aaaa, h2bbbb): name one with its hash"},
		{"unknown scoring", []Side{{Run: "r1"}}, LoadOptions{Scoring: "zz"}, "run r1 has no scoring configuration zz"},
		{"scoring one run lacks", []Side{{Run: "r1"}, {Run: "r2"}}, LoadOptions{Scoring: "h2"}, "run r2 has no scoring configuration h2"},
		{"no common scoring", []Side{{Run: "r2"}, {Run: "r3"}}, LoadOptions{}, "runs r2, r3 share no scoring configuration: their scores are not comparable; score them under one configuration"},
		{"not scored", []Side{{Run: "r4"}}, LoadOptions{}, "run r4 has no scores yet: score it before comparing"},
		{"ambiguous baseline", []Side{{Run: "r2"}}, LoadOptions{Baseline: Side{Run: "r1"}}, "baseline r1: the run has 2 variations (a, b): name one as r1:VARIATION"},
		{"side twice", []Side{{Run: "r1"}, {Run: "r1", Variation: "a"}}, LoadOptions{Scoring: "h1"}, "side r1:a named twice"},
		{"nothing", nil, LoadOptions{}, "nothing to compare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(t.Context(), st, tt.sides, tt.opts)
			if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line matching ErrInvalidInput with %q", err, tt.want)
			}
		})
	}
}

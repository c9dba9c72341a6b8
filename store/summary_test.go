package store

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
)

func TestRun_Items(t *testing.T) {
	ctx := context.Background()
	r := mustCreate(t, MustOpen(t), testConfig())
	items := testItems(1200) // more than one transaction of PutItems
	slices.Reverse(items)    // the dataset's order is not the ids' order
	if err := r.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r.Items(ctx))
	if len(got) != len(items) {
		t.Fatalf("%d items, want %d", len(got), len(items))
	}
	for i := range got {
		if got[i].ID != items[i].ID || got[i].Source != items[i].Source || !slices.Equal(got[i].References, items[i].References) {
			t.Fatalf("item %d: %+v, want %+v", i, got[i], items[i])
		}
	}
}

func TestRun_ToScoreByItem(t *testing.T) {
	ctx := context.Background()
	r := mustCreate(t, MustOpen(t), testConfig())
	items := testItems(3)
	slices.Reverse(items)
	if err := r.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{{"b", "item-0", 1}, {"a", "item-1", 0}, {"b", "item-0", 0}, {"a", "item-0", 0}, {"b", "item-2", 0}} {
		mustPut(t, r, testGeneration(k))
	}
	if err := r.AddScoring(ctx, "h", "{}"); err != nil {
		t.Fatal(err)
	}
	var got []Key
	for _, p := range collect(t, r.ToScoreByItem(ctx, "h")) {
		got = append(got, p.Key)
	}
	// item-2 comes first in the dataset, then item-1, then item-0.
	want := []Key{{"b", "item-2", 0}, {"a", "item-1", 0}, {"a", "item-0", 0}, {"b", "item-0", 0}, {"b", "item-0", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestStore_Summaries(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	cfg := testConfig()
	cfg.Variations = append(cfg.Variations, Variation{Name: "c", Runner: "replay:rec.jsonl", Prompt: "x"})
	r := mustCreate(t, s, cfg)
	if err := r.PutItems(ctx, testItems(4)); err != nil {
		t.Fatal(err)
	}
	// a: four live calls (latencies 10, 40, 20, 30 ms: median 25 ms), one
	// of them cut at the token limit; b: one live call, one cached, one
	// failed; c: two replayed.
	for i, ms := range []float64{10, 40, 20, 30} {
		g := testGeneration(Key{"a", testItems(4)[i].ID, 0})
		g.Result.Latency = runners.Duration(ms * float64(time.Millisecond))
		if i == 1 {
			g.Result.DoneReason = "length"
		}
		mustPut(t, r, g)
	}
	mustPut(t, r, testGeneration(Key{"b", "item-0", 0}))
	cached := testGeneration(Key{"b", "item-1", 0})
	cached.Result.Cached, cached.Result.Attempts = true, 0
	mustPut(t, r, cached)
	failed := Generation{Key: Key{"b", "item-2", 1}, Result: runners.Result{Error: "boom", Attempts: 5}}
	mustPut(t, r, failed)
	for _, id := range []string{"item-0", "item-1"} {
		mustPut(t, r, Generation{Key: Key{"c", id, 0}, Result: runners.Result{Output: "输出", Replayed: true, Latency: runners.Duration(time.Second)}})
	}
	if err := r.AddScoring(ctx, "h", "{}"); err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	if _, err := r.PutScores(ctx, "h", []Score{
		{Key: Key{"a", "item-0", 0}, Raw: PRF{0.5, 0.6, 0.7}, Rescaled: &PRF{0.1, 0.2, 0.3}},
		{Key: Key{"a", "item-1", 0}, Raw: PRF{0.7, 0.8, 0.9}, Rescaled: &PRF{0.3, 0.4, 0.5}},
		{Key: Key{"b", "item-0", 0}, Raw: PRF{nan, 0.5, nan}},
	}); err != nil {
		t.Fatal(err)
	}

	sums, err := s.Summaries(ctx, "", "h")
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 || sums[0].Name != "a" || sums[1].Name != "b" || sums[2].Name != "c" {
		t.Fatalf("summaries %+v", sums)
	}
	a, b, c := sums[0], sums[1], sums[2]
	if a.Live != 4 || a.LatencyP50 != 25*time.Millisecond || a.Flags["truncated_output"] != 1 || a.Replayed != 0 {
		t.Errorf("a: live %d, p50 %v, flags %v, replayed %d", a.Live, a.LatencyP50, a.Flags, a.Replayed)
	}
	if a.Scored != 2 || a.Undefined != 0 || !near(a.Mean, PRF{0.6, 0.7, 0.8}) || a.MeanRescaled == nil || !near(*a.MeanRescaled, PRF{0.2, 0.3, 0.4}) {
		t.Errorf("a scores: %d scored, mean %+v, rescaled %+v", a.Scored, a.Mean, a.MeanRescaled)
	}
	if b.Live != 1 || b.Cached != 1 || b.Failed != 1 || b.LatencyP50 != testGeneration(Key{}).Result.Latency.Std() {
		t.Errorf("b: live %d cached %d failed %d p50 %v", b.Live, b.Cached, b.Failed, b.LatencyP50)
	}
	if b.Scored != 1 || b.Undefined != 1 || !math.IsNaN(b.Mean.P) || b.Mean.R != 0.5 || !math.IsNaN(b.Mean.F) || b.MeanRescaled != nil {
		t.Errorf("b scores: %d scored, %d undefined, mean %+v, rescaled %+v", b.Scored, b.Undefined, b.Mean, b.MeanRescaled)
	}
	if c.Replayed != 2 || c.Live != 0 || c.LatencyP50 != 0 || c.Scored != 0 || !math.IsNaN(c.Mean.F) {
		t.Errorf("c: replayed %d, live %d, p50 %v, scored %d, mean %+v", c.Replayed, c.Live, c.LatencyP50, c.Scored, c.Mean)
	}

	if _, err := s.Summaries(ctx, "", "no-such-scoring"); err == nil {
		t.Error("an unknown scoring was accepted")
	}
	plain, err := s.Summaries(ctx, "r1", "")
	if err != nil || plain[0].Scored != 0 || !math.IsNaN(plain[0].Mean.P) || plain[0].LatencyP50 != 25*time.Millisecond {
		t.Errorf("without a scoring: %+v, %v", plain, err)
	}
}

func near(a, b PRF) bool {
	const eps = 1e-12
	return math.Abs(a.P-b.P) < eps && math.Abs(a.R-b.R) < eps && math.Abs(a.F-b.F) < eps
}

package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestCompare_IdenticalSides(t *testing.T) {
	f := normals(rand.New(rand.NewPCG(1, 2)), 200, 0.8, 0.05)
	in := Input{Sides: []SideInput{withRescaled(side("r1", "a", f)), withRescaled(side("r2", "a", f))}}
	c := mustCompare(t, in, Options{Resamples: 2000, Permutations: 2000})
	d := c.Sides[1].Delta
	if d == nil || d.Rescaled == nil {
		t.Fatalf("delta %+v: want raw and rescaled", d)
	}
	for name, e := range map[string]DeltaEstimate{"P": d.Raw.P, "R": d.Raw.R, "F": d.Raw.F, "F rescaled": d.Rescaled.F} {
		if e.Mean != 0 || e.CILow != 0 || e.CIHigh != 0 {
			t.Errorf("%s: Δ %g [%g, %g], want exactly 0 with a zero-width interval", name, e.Mean, e.CILow, e.CIHigh)
		}
		if e.PValue != 1 || e.Significant || e.Ties != 200 || e.Wins != 0 || e.Losses != 0 {
			t.Errorf("%s: p %g significant %v w/t/l %d/%d/%d, want p 1, not significant, 200 ties", name, e.PValue, e.Significant, e.Wins, e.Ties, e.Losses)
		}
		if e.RelativePct == nil || *e.RelativePct != 0 {
			t.Errorf("%s: relative %v, want 0", name, e.RelativePct)
		}
	}
	if q0, q1 := c.Sides[0].Quality, c.Sides[1].Quality; *q0 != *q1 && q0.Raw != q1.Raw {
		t.Errorf("identical sides, different quality: %+v vs %+v", q0, q1)
	}
}

func TestCompare_ConstantShift(t *testing.T) {
	const c0 = 0.026
	f := normals(rand.New(rand.NewPCG(3, 4)), 150, 0.8, 0.05)
	in := Input{Sides: []SideInput{side("r", "base", f), side("r", "up", shift(f, c0)), side("r", "down", shift(f, -c0))}}
	c := mustCompare(t, in, Options{Resamples: 2000, Permutations: 2000})
	for s, want := range map[int]float64{1: c0, 2: -c0} {
		e := c.Sides[s].Delta.Raw.F
		for _, got := range []float64{e.Mean, e.CILow, e.CIHigh} {
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("side %d: Δ %g [%g, %g], want the shift %g with a zero-width interval", s, e.Mean, e.CILow, e.CIHigh, want)
				break
			}
		}
		if !e.Significant || e.PValue != 1.0/2001 {
			t.Errorf("side %d: significant %v p %g, want significant with p = 1/2001", s, e.Significant, e.PValue)
		}
		wins, losses := 150, 0
		if want < 0 {
			wins, losses = 0, 150
		}
		if e.Wins != wins || e.Losses != losses || e.Ties != 0 {
			t.Errorf("side %d: w/t/l %d/%d/%d, want %d/0/%d", s, e.Wins, e.Ties, e.Losses, wins, losses)
		}
	}
	// The shift is also the difference of the sides' own intervals.
	q0, q1 := c.Sides[0].Quality.Raw.F, c.Sides[1].Quality.Raw.F
	if math.Abs(q1.CILow-q0.CILow-c0) > 1e-12 || math.Abs(q1.CIHigh-q0.CIHigh-c0) > 1e-12 {
		t.Errorf("intervals %+v and %+v are not shifted by %g", q0, q1, c0)
	}
}

// TestCompare_Coverage checks the interval's coverage by simulation: over
// 1,000 seeded datasets of 100 items drawn from a normal of known mean,
// the 95 % interval must hold the true mean in 93-97 % of them. Each
// dataset gets 1,000 resamples, not 10,000: the coverage depends on the
// bootstrap distribution, which 1,000 resamples already give to within a
// small part of the interval's width (the 2.5 % bound's Monte-Carlo error
// is about 0.05 standard errors), and the test must stay quick under
// -race. With 1,000 datasets the coverage is known to ±1.4 points (two
// binomial standard errors).
func TestCompare_Coverage(t *testing.T) {
	const (
		datasets = 1000
		n        = 100
		mu       = 0.8
	)
	rng := rand.New(rand.NewPCG(2026, 10))
	covered := 0
	for d := range datasets {
		in := Input{Sides: []SideInput{side("r", "a", normals(rng, n, mu, 0.05))}}
		c := mustCompare(t, in, Options{Resamples: 1000, Seed: uint64(d)})
		if e := c.Sides[0].Quality.Raw.F; e.CILow <= mu && mu <= e.CIHigh {
			covered++
		}
	}
	if covered < 930 || covered > 970 {
		t.Errorf("the 95 %% interval covered the true mean in %d of %d datasets, want 930-970", covered, datasets)
	}
	t.Logf("coverage %d/%d", covered, datasets)
}

func TestCompare_Deterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b := normals(rng, 300, 0.8, 0.05), normals(rng, 300, 0.81, 0.05)
	in := Input{Sides: []SideInput{withRescaled(side("r", "a", a)), withRescaled(side("r", "b", b))}}
	opts := Options{Resamples: 1000, Permutations: 1000, Seed: 42}
	want := marshal(t, mustCompare(t, in, opts))

	for _, workers := range []int{1, 2, 3, 16} {
		o := opts
		o.Workers = workers
		if got := marshal(t, mustCompare(t, in, o)); !bytes.Equal(got, want) {
			t.Errorf("workers %d: another comparison", workers)
		}
	}
	// Generations in another order: the same statistics (rows keep the
	// items' order, which is unchanged).
	shuffled := Input{Sides: slices.Clone(in.Sides)}
	for s := range shuffled.Sides {
		gens := slices.Clone(shuffled.Sides[s].Generations)
		rand.New(rand.NewPCG(uint64(s), 9)).Shuffle(len(gens), func(i, j int) { gens[i], gens[j] = gens[j], gens[i] })
		shuffled.Sides[s].Generations = gens
	}
	if got := marshal(t, mustCompare(t, shuffled, opts)); !bytes.Equal(got, want) {
		t.Error("generations shuffled: another comparison")
	}
	// Items in another order: other rows, the same statistics.
	reordered := Input{Sides: slices.Clone(in.Sides)}
	for s := range reordered.Sides {
		items := slices.Clone(reordered.Sides[s].Items)
		slices.Reverse(items)
		reordered.Sides[s].Items = items
	}
	c1, c2 := mustCompare(t, in, opts), mustCompare(t, reordered, opts)
	if !slices.EqualFunc(c1.Sides, c2.Sides, func(x, y SideSummary) bool { return string(marshal(t, x)) == string(marshal(t, y)) }) {
		t.Error("items reordered: other statistics")
	}
	o := opts
	o.Seed = 43
	if got := mustCompare(t, in, o); got.Sides[1].Delta.Raw.F.CILow == c1.Sides[1].Delta.Raw.F.CILow {
		t.Error("another seed gave the same interval bound")
	}
}

func marshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestCompare_Alignment(t *testing.T) {
	a := side("r1", "v", []float64{0.8, 0.7, 0.9})        // item-000..002
	b := side("r2", "v", []float64{0.6, 0.85, 0.75, 0.7}) // item-000..003
	// b: item-000 is missing (not asked), item-002 failed, item-001 is
	// scored twice (repeats 0 and 1).
	b.Items = b.Items[1:]
	b.Generations = b.Generations[1:]
	b.Generations[1].Raw, b.Generations[1].Error = nil, "HTTP 500"
	b.Generations = append(b.Generations, Generation{Item: "item-001", Repeat: 1, Output: "again", Raw: &PRF{0.9, 0.9, 0.95}, Attempts: 1})
	// a: item-001's text differs.
	a.Items[1].Source = "another source"

	c := mustCompare(t, Input{Sides: []SideInput{a, b}}, Options{Resamples: 200, Permutations: 200})
	al := c.Alignment
	if al.Items != 4 || al.Compared != 1 || !slices.Equal(al.Excluded, []string{"item-000", "item-002", "item-003"}) ||
		!slices.Equal(al.Conflicts, []string{"item-001"}) {
		t.Errorf("alignment %+v", al)
	}
	ca, cb := c.Sides[0].Coverage, c.Sides[1].Coverage
	if ca.Items != 3 || ca.Generations != 3 || ca.Scored != 3 || !slices.Equal(ca.Missing, []string{"item-003"}) || len(ca.Unscored) != 0 {
		t.Errorf("side a coverage %+v", ca)
	}
	if cb.Items != 3 || cb.Generations != 4 || cb.Scored != 3 || !slices.Equal(cb.Missing, []string{"item-000"}) || !slices.Equal(cb.Unscored, []string{"item-002"}) {
		t.Errorf("side b coverage %+v", cb)
	}
	// The statistics cover item-001 only: a 0.7 (0.7 as F), b the mean of
	// its two repeats, (0.85 + 0.95) / 2.
	if q := c.Sides[1].Quality; q.Items != 1 || q.Generations != 2 || math.Abs(q.Raw.F.Mean-0.9) > 1e-12 {
		t.Errorf("side b quality %+v", q)
	}
	if d := c.Sides[1].Delta.Raw.F; math.Abs(d.Mean-0.2) > 1e-12 || d.Wins != 1 {
		t.Errorf("Δ F %+v, want +0.2 with one win", d)
	}
	if !c.Settings.TwoLevel {
		t.Error("an item with two scored repeats: want the two-level bootstrap")
	}
	ids := []string{}
	for _, r := range c.Items {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"item-000", "item-001", "item-002", "item-003"}) {
		t.Errorf("rows %v", ids)
	}
	r1 := c.Items[1]
	if !r1.Compared || r1.Source != "another source" || !slices.Equal(r1.Sides[1].Outputs, []string{"out item-001", "again"}) ||
		r1.Sides[1].Delta == nil || math.Abs(r1.Sides[1].Delta.F-0.2) > 1e-12 || r1.Sides[0].Delta != nil {
		t.Errorf("row item-001 %+v", r1)
	}
	r2 := c.Items[2]
	if r2.Compared || r2.Sides[1].Errors != 1 || r2.Sides[1].Raw != nil || r2.Sides[1].Delta != nil {
		t.Errorf("row item-002 %+v", r2)
	}
	if r3 := c.Items[3]; r3.Sides[0].Generations != 0 || len(r3.Sides[0].Outputs) != 0 || r3.Source != "source item-003" {
		t.Errorf("row item-003 %+v", r3)
	}
	if e := c.Sides[1].Perf; e.Errors != 1 || e.ErrorRate != 0.25 {
		t.Errorf("side b perf errors %d rate %g, want 1 and 0.25", e.Errors, e.ErrorRate)
	}
}

func TestCompare_NothingCompared(t *testing.T) {
	a := side("r", "a", []float64{0.8})
	b := side("r", "b", []float64{0.8})
	b.Generations[0].Raw = nil // not scored yet
	c := mustCompare(t, Input{Sides: []SideInput{a, b}}, Options{})
	if c.Alignment.Compared != 0 || c.Sides[0].Quality != nil || c.Sides[1].Delta != nil {
		t.Errorf("nothing compared: %+v", c.Sides)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Error(err)
	}
}

func TestCompare_InputErrors(t *testing.T) {
	a := side("r", "a", []float64{0.8})
	dup := side("r", "b", []float64{0.8, 0.7})
	dup.Generations[1].Item = dup.Generations[0].Item
	tests := []struct {
		name string
		in   Input
		opts Options
		want string
	}{
		{"no sides", Input{}, Options{}, "nothing to compare"},
		{"side twice", Input{Sides: []SideInput{a, a}}, Options{}, "side r:a named twice"},
		{"baseline out of range", Input{Sides: []SideInput{a}, Baseline: 1}, Options{}, "baseline 1: there are 1 sides"},
		{"two generations", Input{Sides: []SideInput{dup}}, Options{}, `r:b item "item-000" repeat 0: two generations`},
		{"negative resamples", Input{Sides: []SideInput{a}}, Options{Resamples: -1}, "resamples -1"},
		{"confidence", Input{Sides: []SideInput{a}}, Options{Confidence: 95}, "confidence 95: must be between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compare(t.Context(), tt.in, tt.opts)
			if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line matching ErrInvalidInput with %q", err, tt.want)
			}
		})
	}
}

func TestCompare_Canceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in := Input{Sides: []SideInput{side("r", "a", []float64{0.8, 0.7})}}
	if _, err := Compare(ctx, in, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestParseSide(t *testing.T) {
	tests := []struct {
		spec    string
		want    Side
		wantErr string
	}{
		{"r1", Side{Run: "r1"}, ""},
		{"r1:llama2-13b", Side{Run: "r1", Variation: "llama2-13b"}, ""},
		{"r1:ollama:llama2:13b", Side{Run: "r1", Variation: "ollama:llama2:13b"}, ""},
		{"", Side{}, "no run id"},
		{":v", Side{}, "no run id"},
		{"r1:", Side{}, "empty variation"},
	}
	for _, tt := range tests {
		got, err := ParseSide(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSide(%q) error %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.spec {
			t.Errorf("ParseSide(%q) = %+v (%q), %v", tt.spec, got, got.String(), err)
		}
	}
}

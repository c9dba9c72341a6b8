package compare

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners/outputcheck"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1, unsorted
	}
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"1..100 p50", hundred, 50, 50},
		{"1..100 p95", hundred, 95, 95},
		{"1..100 p99", hundred, 99, 99},
		{"1..100 p100", hundred, 100, 100},
		{"1..100 p0.5", hundred, 0.5, 1},
		{"10 values p50", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 50, 5},
		{"10 values p95", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 95, 10},
		{"10 values p91", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 91, 10},
		{"10 values p90", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 90, 9},
		{"one value", []float64{7}, 99, 7},
		{"two values p50", []float64{2, 1}, 50, 1},
		{"none", nil, 50, 0},
	}
	for _, tt := range tests {
		if got := Percentile(tt.values, tt.p); got != tt.want {
			t.Errorf("%s: Percentile = %g, want %g", tt.name, got, tt.want)
		}
	}
	if hundred[0] != 100 {
		t.Error("Percentile sorted its argument")
	}
}

func TestNearestRank_CI(t *testing.T) {
	// The 95 % interval of 10,000 sorted draws is the 250th and the
	// 9,750th value (float products like 0.025·10000 must not move them).
	x := make([]float64, 10000)
	for i := range x {
		x[i] = float64(i + 1)
	}
	if lo, hi := nearestRank(x, 0.025), nearestRank(x, 0.975); lo != 250 || hi != 9750 {
		t.Errorf("bounds %g, %g, want 250, 9750", lo, hi)
	}
}

func TestPerf(t *testing.T) {
	cost := func(c float64) *float64 { return &c }
	live := func(item string, ms, ttft int, out int, c *float64, flags ...outputcheck.Flag) Generation {
		return Generation{Item: item, Raw: &PRF{0.8, 0.8, 0.8}, Latency: time.Duration(ms) * time.Millisecond, TTFT: time.Duration(ttft) * time.Millisecond,
			PromptTokens: 10, CompletionTokens: out, CostUSD: c, Attempts: 1, Flags: flags}
	}
	gens := []Generation{
		live("a", 100, 20, 50, cost(0.001)),
		live("b", 300, 0, 100, cost(0.002), outputcheck.WrongLanguage),                          // TTFT not measured
		live("c", 200, 40, 50, nil, outputcheck.TruncatedOutput),                                // unpriced
		{Item: "d", Latency: 9 * time.Second, Cached: true, Attempts: 0, CompletionTokens: 500}, // cached: no model time
		{Item: "e", Latency: 30 * time.Second, Error: "timeout", Attempts: 3, Flags: []outputcheck.Flag{outputcheck.Error}},
		{Item: "f", Latency: 7 * time.Second, Attempts: 0}, // answered without a call
		live("a", 400, 60, 0, cost(0.003)),                 // a second repeat of a
	}
	p := perfOf(gens)
	if p.Generations != 7 || p.Live != 4 || p.Cached != 1 || p.Errors != 1 || p.ErrorRate != 1.0/7 {
		t.Errorf("counts %+v", p)
	}
	if l := p.LatencyMS; l == nil || *l != (Percentiles{N: 4, P50: 200, P95: 400, P99: 400}) {
		t.Errorf("latency %+v, want the four live calls: n 4, p50 200, p95 400, p99 400", l)
	}
	if tt := p.TTFTMS; tt == nil || *tt != (Percentiles{N: 3, P50: 40, P95: 60, P99: 60}) {
		t.Errorf("TTFT %+v, want the three measured live calls", tt)
	}
	if p.PromptTokens != 40 || p.CompletionTokens != 200 {
		t.Errorf("tokens %d in, %d out, want 40 and 200", p.PromptTokens, p.CompletionTokens)
	}
	if p.TokensPerSecond == nil || math.Abs(*p.TokensPerSecond-200) > 1e-9 {
		t.Errorf("tokens/s %v, want 200 completion tokens over 1 s of live calls", p.TokensPerSecond)
	}
	if p.Priced != 3 || p.CostUSD == nil || math.Abs(*p.CostUSD-0.006) > 1e-15 || math.Abs(*p.CostPerItemUSD-0.003) > 1e-15 {
		t.Errorf("cost %v per item %v priced %d, want 0.006 over items a and b", p.CostUSD, p.CostPerItemUSD, p.Priced)
	}
	for f, want := range map[outputcheck.Flag]int{outputcheck.WrongLanguage: 1, outputcheck.TruncatedOutput: 1, outputcheck.Error: 1, outputcheck.Empty: 0, outputcheck.TruncatedInput: 0} {
		if r := p.Flags[f]; r.Count != want || r.Rate != float64(want)/7 {
			t.Errorf("flag %s: %+v, want %d of 7", f, r, want)
		}
	}

	none := perfOf([]Generation{{Item: "a", Cached: true}})
	if none.LatencyMS != nil || none.TTFTMS != nil || none.TokensPerSecond != nil || none.CostUSD != nil || none.CostPerItemUSD != nil {
		t.Errorf("no live call: %+v, want null latency, TTFT, tokens/s and cost", none)
	}
}

// TestBootstrap_TwoLevel checks the two-level bootstrap against its exact
// variance on data with known repeat variance. Resampling n items, then
// k repeats within each drawn item, gives the resampled mean the variance
//
//	Var* = s_b²/n + mean_i(s_w,i²)/(n·k)
//
// with s_b² the plug-in variance of the item means and s_w,i² that of item
// i's repeats (law of total variance: the item draw, plus the repeat draw
// given the items). The one-level bootstrap of the item means has s_b²/n
// only. Repeat noise is real here (sd 0.06 within an item against 0.02
// between items), so the two must differ.
func TestBootstrap_TwoLevel(t *testing.T) {
	const n, k, B = 200, 3, 10000
	rng := rand.New(rand.NewPCG(7, 8))
	sm := sample{}
	for i := range n {
		sm.off = append(sm.off, i*k)
		mu := 0.8 + 0.02*rng.NormFloat64()
		for range k {
			v := mu + 0.06*rng.NormFloat64()
			sm.vals = append(sm.vals, v, v, v)
		}
	}
	sm.off = append(sm.off, n*k)
	one := &resampler{n: n, ns: 3, sides: []sample{sm}}
	means := one.itemMeans(0)
	var grand float64
	for i := range n {
		grand += means[i*3] / n
	}
	var sb, sw float64
	for i := range n {
		sb += (means[i*3] - grand) * (means[i*3] - grand) / n
		for r := range k {
			d := sm.vals[(i*k+r)*3] - means[i*3]
			sw += d * d / k / n
		}
	}
	wantTwo, wantOne := sb/n+sw/(n*k), sb/n

	for _, tt := range []struct {
		name     string
		twoLevel bool
		want     float64
	}{{"one level", false, wantOne}, {"two levels", true, wantTwo}} {
		rs := &resampler{n: n, ns: 3, sides: []sample{sm}, twoLevel: tt.twoLevel}
		boot, err := rs.bootstrap(context.Background(), B, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := variance(boot[0][2])
		// The variance of B draws is known to about sqrt(2/B) ≈ 1.4 %.
		if math.Abs(got/tt.want-1) > 0.05 {
			t.Errorf("%s: bootstrap variance %.4g, want %.4g (within 5 %%)", tt.name, got, tt.want)
		}
		t.Logf("%s: bootstrap variance %.4g, closed form %.4g", tt.name, got, tt.want)
	}
	if wantTwo/wantOne < 1.3 {
		t.Fatalf("test data: the repeats add too little variance (%.3g vs %.3g) to tell the two apart", wantTwo, wantOne)
	}
}

// TestCompare_TwoLevelZeroRepeatVariance: repeats that agree add nothing,
// so the two-level interval is the one-level one (the same item draws:
// repeats are drawn from a stream of their own).
func TestCompare_TwoLevelZeroRepeatVariance(t *testing.T) {
	f := normals(rand.New(rand.NewPCG(9, 9)), 100, 0.8, 0.05)
	one := side("r", "a", f)
	rep := side("r", "a", f)
	for _, g := range one.Generations {
		g.Repeat = 1
		rep.Generations = append(rep.Generations, g)
	}
	c1 := mustCompare(t, Input{Sides: []SideInput{one}}, Options{Resamples: 2000})
	c2 := mustCompare(t, Input{Sides: []SideInput{rep}}, Options{Resamples: 2000})
	if !c2.Settings.TwoLevel || c1.Settings.TwoLevel {
		t.Fatalf("two-level %v and %v, want false then true", c1.Settings.TwoLevel, c2.Settings.TwoLevel)
	}
	e1, e2 := c1.Sides[0].Quality.Raw.F, c2.Sides[0].Quality.Raw.F
	if math.Abs(e1.CILow-e2.CILow) > 1e-12 || math.Abs(e1.CIHigh-e2.CIHigh) > 1e-12 || math.Abs(e1.Mean-e2.Mean) > 1e-12 {
		t.Errorf("one level %+v, two levels over equal repeats %+v: want the same", e1, e2)
	}
}

func variance(xs []float64) float64 {
	var mean, ss float64
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return ss / float64(len(xs)-1)
}

// TestSignFlip compares the approximate-randomisation p-value with the
// exact one: for 12 items, all 4,096 sign patterns can be counted.
func TestSignFlip(t *testing.T) {
	d := []float64{0.02, -0.01, 0.03, 0.015, -0.005, 0.01, 0.025, -0.02, 0.005, 0.012, 0.018, -0.003}
	n := len(d)
	var obs float64
	for _, x := range d {
		obs += x
	}
	extreme := 0
	for mask := range 1 << n {
		var s float64
		for i, x := range d {
			if mask>>i&1 == 1 {
				s -= x
			} else {
				s += x
			}
		}
		if math.Abs(s) >= math.Abs(obs)-1e-12 {
			extreme++
		}
	}
	exact := float64(extreme) / float64(int(1)<<n)
	col := make([]float64, 3*n)
	for i, x := range d {
		col[3*i], col[3*i+1], col[3*i+2] = x, 0, -x
	}
	const R = 40000
	p, err := signFlip(context.Background(), [][]float64{col}, n, 3, R, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Monte-Carlo error of p: sqrt(p(1-p)/R) ≈ 0.0015 here.
	if math.Abs(p[0][0]-exact) > 0.006 || p[0][2] != p[0][0] {
		t.Errorf("p %g (and %g for the negated series), exact %g", p[0][0], p[0][2], exact)
	}
	if p[0][1] != 1 {
		t.Errorf("p %g for zero differences, want 1", p[0][1])
	}
	if exact < 0.01 || exact > 0.2 {
		t.Fatalf("test data: exact p %g is not in the interesting range", exact)
	}
}

func TestCompare_PValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	base := normals(rng, 300, 0.8, 0.05)
	noise := make([]float64, len(base))
	shifted := make([]float64, len(base))
	for i, b := range base {
		noise[i] = b + 0.02*rng.NormFloat64()          // no true difference
		shifted[i] = b + 0.01 + 0.02*rng.NormFloat64() // +0.01
	}
	c := mustCompare(t, Input{Sides: []SideInput{side("r", "base", base), side("r", "noise", noise), side("r", "shifted", shifted)}}, Options{Resamples: 2000, Permutations: 2000})
	if e := c.Sides[1].Delta.Raw.F; e.PValue < 0.05 || e.Significant {
		t.Errorf("no true difference: %+v, want p >= 0.05 and not significant", e)
	}
	if e := c.Sides[2].Delta.Raw.F; e.PValue > 0.001 || !e.Significant || e.CILow <= 0 {
		t.Errorf("shifted by 0.01 (20 standard errors): %+v, want p <= 0.001, significant", e)
	}
}

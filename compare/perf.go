package compare

import (
	"slices"
	"time"

	"github.com/bertbench/bertbench/runners/outputcheck"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of values by the
// nearest-rank method: the smallest value such that at least p % of the
// values are at or below it. It returns 0 for no values; values is not
// changed.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return nearestRank(sorted, p/100)
}

// percentiles returns the p50, p95 and p99 of values (nil for none).
func percentiles(values []float64) *Percentiles {
	if len(values) == 0 {
		return nil
	}
	slices.Sort(values)
	return &Percentiles{N: len(values), P50: nearestRank(values, 0.50), P95: nearestRank(values, 0.95), P99: nearestRank(values, 0.99)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perfOf summarises a side's generations: counts and rates over all of
// them; latency, TTFT, tokens and cost over the live calls only (a cached
// answer took no model time, a failed call has no complete output).
func perfOf(gens []Generation) Perf {
	p := Perf{Generations: len(gens), Flags: map[outputcheck.Flag]Rate{}}
	var latency, ttft []float64
	var liveTime time.Duration
	var cost float64
	pricedItems := map[string]bool{}
	flagCount := map[outputcheck.Flag]int{}
	for i := range gens {
		g := &gens[i]
		for _, f := range g.Flags {
			flagCount[f]++
		}
		switch {
		case g.Error != "":
			p.Errors++
			continue
		case g.Cached:
			p.Cached++
			continue
		case !g.live():
			continue
		}
		p.Live++
		latency = append(latency, ms(g.Latency))
		if g.TTFT > 0 {
			ttft = append(ttft, ms(g.TTFT))
		}
		liveTime += g.Latency
		p.PromptTokens += int64(g.PromptTokens)
		p.CompletionTokens += int64(g.CompletionTokens)
		if g.CostUSD != nil {
			p.Priced++
			cost += *g.CostUSD
			pricedItems[g.Item] = true
		}
	}
	if p.Generations > 0 {
		p.ErrorRate = float64(p.Errors) / float64(p.Generations)
	}
	for _, f := range outputcheck.All {
		r := Rate{Count: flagCount[f]}
		if p.Generations > 0 {
			r.Rate = float64(r.Count) / float64(p.Generations)
		}
		p.Flags[f] = r
	}
	for f, n := range flagCount { // a flag this bertbench does not know is still counted
		if _, ok := p.Flags[f]; !ok {
			p.Flags[f] = Rate{Count: n, Rate: float64(n) / float64(p.Generations)}
		}
	}
	p.LatencyMS, p.TTFTMS = percentiles(latency), percentiles(ttft)
	if liveTime > 0 {
		tps := float64(p.CompletionTokens) / liveTime.Seconds()
		p.TokensPerSecond = &tps
	}
	if p.Priced > 0 {
		per := cost / float64(len(pricedItems))
		p.CostUSD, p.CostPerItemUSD = &cost, &per
	}
	return p
}

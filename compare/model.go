package compare

import "github.com/bertbench/bertbench/runners/outputcheck"

// SchemaID names the version of the comparison's JSON form. A change that
// removes or renames a field, or changes a field's meaning, takes a new
// number; adding a field does not.
const SchemaID = "bertbench.compare/1"

// Comparison is the result of comparing sides: the one model every
// reporter renders (terminal, JSON, CSV, Markdown, HTML). Its JSON form
// (encoding/json) is versioned by Schema and described by JSONSchema.
// Every number in it is finite: what is undefined is null.
type Comparison struct {
	// Schema is SchemaID.
	Schema string `json:"schema"`
	// Settings are how the statistics were computed.
	Settings Settings `json:"settings"`
	// Baseline is the reference side; the others' Delta are against it.
	Baseline Side `json:"baseline"`
	// Alignment says which items the statistics cover.
	Alignment Alignment `json:"alignment"`
	// Sides are the summaries, in the order the sides were given.
	Sides []SideSummary `json:"sides"`
	// Items are the per-item rows: the baseline's dataset order, then
	// items only other sides have.
	Items []ItemRow `json:"items"`
}

// Settings record how a comparison was computed, so it can be repeated.
type Settings struct {
	// Scoring is the scoring configuration's hash the scores come from.
	Scoring string `json:"scoring"`
	// Resamples is the number of bootstrap resamples, Permutations the
	// number of approximate-randomisation rounds, Seed their seed.
	Resamples    int    `json:"resamples"`
	Permutations int    `json:"permutations"`
	Seed         uint64 `json:"seed"`
	// Confidence is the intervals' level (0.95).
	Confidence float64 `json:"confidence"`
	// TwoLevel reports a two-level bootstrap (items, then repeats within
	// an item), used when some item has more than one scored repeat.
	TwoLevel bool `json:"two_level"`
	// TieTolerance is the item-level |Δ| counted as a tie.
	TieTolerance float64 `json:"tie_tolerance"`
	// Percentile is the method of every percentile: "nearest-rank".
	Percentile string `json:"percentile"`
}

// Alignment is how the sides' items were matched (by item id, never by
// position).
type Alignment struct {
	// Items counts the items any side has.
	Items int `json:"items"`
	// Compared counts the items with a score on every side: the
	// statistics of every side cover exactly these.
	Compared int `json:"compared"`
	// Excluded lists the items left out of the statistics (not scored on
	// some side; each side's Coverage says why), in row order.
	Excluded []string `json:"excluded"`
	// Conflicts lists items whose source or references differ between
	// sides: the outputs answer different inputs under one id.
	Conflicts []string `json:"conflicts"`
}

// SideSummary is one side's results.
type SideSummary struct {
	Side
	// IsBaseline marks the baseline.
	IsBaseline bool `json:"baseline"`
	// Coverage counts what the side holds.
	Coverage Coverage `json:"coverage"`
	// Quality is the mean score over the compared items; null when no
	// item is compared.
	Quality *Quality `json:"quality"`
	// Delta is the difference to the baseline; null for the baseline and
	// when no item is compared.
	Delta *Delta `json:"delta"`
	// Perf covers the side's calls.
	Perf Perf `json:"perf"`
}

// Coverage counts a side's items and generations and names the items that
// are not in the statistics because of this side.
type Coverage struct {
	// Items counts items with at least one generation.
	Items int `json:"items"`
	// Generations counts stored generations; Scored those with a score
	// (failed generations have none: they count in Perf.Errors and never
	// in the scores).
	Generations int `json:"generations"`
	Scored      int `json:"scored"`
	// Missing lists items another side has and this one has no generation
	// for; Unscored items with generations but none scored (all failed,
	// or not scored yet).
	Missing  []string `json:"missing"`
	Unscored []string `json:"unscored"`
}

// Quality is a side's mean scores with their intervals.
type Quality struct {
	// Items counts the compared items, Generations their scored
	// generations on this side (an item's value is the mean of its scored
	// repeats).
	Items       int `json:"items"`
	Generations int `json:"generations"`
	// Raw are the scores as computed; Rescaled the baseline-rescaled ones
	// (null when the scoring has no baseline). Raw multilingual-BERT
	// scores sit high and close together; rescaled ones spread.
	Raw      Scores  `json:"raw"`
	Rescaled *Scores `json:"rescaled"`
}

// Scores are P, R and F estimates.
type Scores struct {
	P Estimate `json:"p"`
	R Estimate `json:"r"`
	F Estimate `json:"f"`
}

// Estimate is a mean with its percentile-bootstrap confidence interval.
type Estimate struct {
	Mean   float64 `json:"mean"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
}

// Delta is a side's difference to the baseline (side − baseline).
type Delta struct {
	Raw      DeltaScores  `json:"raw"`
	Rescaled *DeltaScores `json:"rescaled"`
}

// DeltaScores are the P, R and F differences.
type DeltaScores struct {
	P DeltaEstimate `json:"p"`
	R DeltaEstimate `json:"r"`
	F DeltaEstimate `json:"f"`
}

// DeltaEstimate is the difference of two sides' means over the compared
// items, with its paired-bootstrap interval and a paired
// approximate-randomisation p-value.
type DeltaEstimate struct {
	// Mean, CILow and CIHigh are the difference and its interval.
	Estimate
	// Baseline and Value are the two means (baseline, this side).
	Baseline float64 `json:"baseline"`
	Value    float64 `json:"value"`
	// RelativePct is 100 × Mean / |Baseline| (its sign is the change's
	// even for a negative rescaled baseline); null when Baseline is 0.
	RelativePct *float64 `json:"relative_pct"`
	// PValue is the two-sided approximate-randomisation p-value, (1 + the
	// rounds at least as extreme) / (1 + rounds).
	PValue float64 `json:"p_value"`
	// Significant is false when the interval contains 0 (the one rule;
	// PValue is reported beside it).
	Significant bool `json:"significant"`
	// Wins, Ties and Losses count the compared items where this side
	// scores higher, within TieTolerance, or lower.
	Wins   int `json:"wins"`
	Ties   int `json:"ties"`
	Losses int `json:"losses"`
}

// Perf is a side's calls: latency, TTFT, tokens and cost over its live
// calls (successful, not cached, made in the run), rates over every
// stored generation.
type Perf struct {
	// Generations counts stored generations; Live, Cached and Errors
	// those that were live calls, cache answers and failures.
	Generations int `json:"generations"`
	Live        int `json:"live"`
	Cached      int `json:"cached"`
	Errors      int `json:"errors"`
	// ErrorRate is Errors / Generations (0 without generations).
	ErrorRate float64 `json:"error_rate"`
	// Flags gives each output flag's count and rate over Generations
	// (every flag of outputcheck.All, zero counts included).
	Flags map[outputcheck.Flag]Rate `json:"flags"`
	// LatencyMS and TTFTMS are percentiles in milliseconds; null without
	// a live call (TTFT: without a live call that measured it).
	LatencyMS *Percentiles `json:"latency_ms"`
	TTFTMS    *Percentiles `json:"ttft_ms"`
	// PromptTokens and CompletionTokens sum the live calls' tokens.
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// TokensPerSecond is CompletionTokens over the live calls' summed
	// latency; null without live time.
	TokensPerSecond *float64 `json:"tokens_per_second"`
	// CostUSD sums the priced live calls, Priced counts them;
	// CostPerItemUSD is CostUSD over the items with a priced live call.
	// Both null when no live call is priced.
	CostUSD        *float64 `json:"cost_usd"`
	CostPerItemUSD *float64 `json:"cost_per_item_usd"`
	Priced         int      `json:"priced"`
}

// Rate is a count and its share.
type Rate struct {
	Count int     `json:"count"`
	Rate  float64 `json:"rate"`
}

// Percentiles are nearest-rank percentiles of N values.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// ItemRow is one item across the sides.
type ItemRow struct {
	ID         string   `json:"id"`
	Source     string   `json:"source"`
	References []string `json:"references"`
	// Compared reports the item is in the statistics.
	Compared bool `json:"compared"`
	// Sides are the item on each side, in Comparison.Sides order.
	Sides []ItemSide `json:"sides"`
}

// ItemSide is one item on one side.
type ItemSide struct {
	// Outputs are the stored outputs by repeat ("" for a repeat not
	// stored or failed).
	Outputs []string `json:"outputs"`
	// LatencyMS are the calls' latencies in milliseconds by repeat, beside
	// Outputs; null for a repeat that was no live call (failed, cached,
	// replayed, or not stored).
	LatencyMS []*float64 `json:"latency_ms"`
	// Generations, Scored and Errors count the item's generations.
	Generations int `json:"generations"`
	Scored      int `json:"scored"`
	Errors      int `json:"errors"`
	// Flags are the flags any of its outputs carries, in canonical order.
	Flags []outputcheck.Flag `json:"flags"`
	// Raw and Rescaled are the means of its scored repeats (null: none).
	Raw      *PRF `json:"raw"`
	Rescaled *PRF `json:"rescaled"`
	// Delta and DeltaRescaled are side − baseline; null for the baseline
	// and when either side has no score.
	Delta         *PRF `json:"delta"`
	DeltaRescaled *PRF `json:"delta_rescaled"`
}

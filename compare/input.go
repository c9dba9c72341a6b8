package compare

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bertbench/bertbench/runners/outputcheck"
)

// PRF is a BERTScore triple: precision, recall and F1.
type PRF struct {
	P float64 `json:"p"`
	R float64 `json:"r"`
	F float64 `json:"f"`
}

// finite reports whether all three values are numbers.
func (s PRF) finite() bool {
	return !math.IsNaN(s.P) && !math.IsNaN(s.R) && !math.IsNaN(s.F) &&
		!math.IsInf(s.P, 0) && !math.IsInf(s.R, 0) && !math.IsInf(s.F, 0)
}

// Side names one side of a comparison: a variation of a run.
type Side struct {
	Run       string `json:"run"`
	Variation string `json:"variation"`
}

// String writes the side as RUN:VARIATION (RUN alone without a variation).
func (s Side) String() string {
	if s.Variation == "" {
		return s.Run
	}
	return s.Run + ":" + s.Variation
}

// ParseSide reads RUN[:VARIATION]. A run id has no colon, so everything
// after the first colon is the variation's name; without one, Variation
// is empty and the side stands for every variation of the run.
func ParseSide(spec string) (Side, error) {
	run, variation, hasColon := strings.Cut(spec, ":")
	switch {
	case run == "":
		return Side{}, inputErrorf("side %q: no run id: write RUN or RUN:VARIATION (bertbench runs list shows the runs)", spec)
	case hasColon && variation == "":
		return Side{}, inputErrorf("side %q: empty variation after ':': write RUN or RUN:VARIATION", spec)
	}
	return Side{Run: run, Variation: variation}, nil
}

// Item is a dataset item's text, shown beside the outputs in per-item rows.
type Item struct {
	ID         string
	Source     string
	References []string
}

// Generation is what a comparison reads of one stored call: its score and
// the facts of the call.
type Generation struct {
	// Item is the dataset item's id; items are aligned across sides by it.
	Item string
	// Repeat numbers the asks of one item (0, 1, ...).
	Repeat int
	// Output is the generated text.
	Output string
	// Raw is the score under the compared scoring configuration; nil when
	// the generation has none (it failed, or was not scored yet). A score
	// with an undefined (NaN) value counts as none.
	Raw *PRF
	// Rescaled is the baseline-rescaled score; nil without a baseline.
	Rescaled *PRF
	// Latency and TTFT are the call's wall-clock times (TTFT 0: not
	// measured).
	Latency, TTFT time.Duration
	// PromptTokens and CompletionTokens are the server's token counts.
	PromptTokens, CompletionTokens int
	// CostUSD is the call's price; nil when the model has no price.
	CostUSD *float64
	// Attempts is how many HTTP calls the result took (0: no call was
	// made, e.g. an answer replayed from a recording).
	Attempts int
	// Cached reports an answer from the response cache (no model called).
	Cached bool
	// Error is the failure, empty on success.
	Error string
	// Flags are the output's flags (package runners/outputcheck).
	Flags []outputcheck.Flag
}

// live reports whether the generation was a successful call made by a
// model in its run: not cached, not failed, at least one attempt. Only
// these enter latency, TTFT, tokens and cost (as in store.VariationStats).
func (g *Generation) live() bool { return g.Error == "" && !g.Cached && g.Attempts > 0 }

// SideInput is one side's data.
type SideInput struct {
	Side Side
	// Items are the side's dataset items (texts for the per-item rows);
	// sides of one run may share the slice.
	Items []Item
	// Generations are the side's stored calls, in any order; one per
	// (item, repeat).
	Generations []Generation
}

// Input is what Compare reads: the sides and which is the baseline.
type Input struct {
	Sides []SideInput
	// Baseline is the index in Sides of the reference side (default 0:
	// the first).
	Baseline int
	// Scoring names the scoring configuration the scores come from (a
	// hash, recorded in the comparison).
	Scoring string
}

// Defaults of Options.
const (
	// DefaultResamples is the number of bootstrap resamples.
	DefaultResamples = 10000
	// DefaultPermutations is the number of approximate-randomisation
	// rounds.
	DefaultPermutations = 10000
	// DefaultConfidence is the confidence level of every interval.
	DefaultConfidence = 0.95
	// DefaultSeed seeds the resampling when none is given.
	DefaultSeed = 1
	// TieTolerance is the item-level difference below which an item is a
	// tie (|Δ| < 1e-6, far below any real change of a BERTScore).
	TieTolerance = 1e-6
)

// Options tune Compare. The zero value is usable: the defaults above (the
// seed 0 is a seed like any).
type Options struct {
	// Resamples is the number of bootstrap resamples (0: DefaultResamples).
	// Fewer than 10,000 give visibly noisy interval bounds; tests use fewer.
	Resamples int
	// Permutations is the number of approximate-randomisation rounds
	// (0: DefaultPermutations).
	Permutations int
	// Seed seeds both the bootstrap and the randomisation test: the same
	// input, options and seed give the same comparison, on any machine and
	// with any Workers.
	Seed uint64
	// Confidence is the level of the intervals (0: DefaultConfidence).
	Confidence float64
	// Workers bounds the goroutines resampling (0: GOMAXPROCS). The result
	// does not depend on it.
	Workers int
}

func (o *Options) fill(sides, baseline int) error {
	if o.Resamples == 0 {
		o.Resamples = DefaultResamples
	}
	if o.Permutations == 0 {
		o.Permutations = DefaultPermutations
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	switch {
	case o.Resamples < 0:
		return inputErrorf("resamples %d: must be positive (default %d)", o.Resamples, DefaultResamples)
	case o.Permutations < 0:
		return inputErrorf("permutations %d: must be positive (default %d)", o.Permutations, DefaultPermutations)
	case !(o.Confidence > 0 && o.Confidence < 1):
		return inputErrorf("confidence %g: must be between 0 and 1, e.g. 0.95", o.Confidence)
	case o.Workers < 0:
		return inputErrorf("workers %d: must be positive (0: one per CPU)", o.Workers)
	case sides == 0:
		return inputErrorf("nothing to compare: name at least one side (RUN or RUN:VARIATION)")
	case baseline < 0 || baseline >= sides:
		return inputErrorf("baseline %d: there are %d sides", baseline, sides)
	}
	return nil
}

// String writes the generation's key for messages.
func keyString(side Side, item string, repeat int) string {
	return fmt.Sprintf("%s item %q repeat %d", side, item, repeat)
}

package gate

import (
	"fmt"
	"strings"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// Result is one threshold checked on one side.
type Result struct {
	Threshold Threshold
	Side      compare.Side
	// Value is the number the bound was checked on (Known false: there was
	// none, and the check fails; Note says why).
	Value float64
	Known bool
	Pass  bool
	Note  string
}

// String writes the result on one line, e.g.
// "✓ F.ci_low>=0.78  r2:gpt  0.7912" or
// "✗ F:-0.01  r2:gpt  -0.0213 (Δ F mean)".
func (r Result) String() string {
	mark := "✗"
	if r.Pass {
		mark = "✓"
	}
	value := r.Note
	if r.Known {
		value = fmt.Sprintf("%.4g", r.Value)
		if r.Note != "" {
			value += " (" + r.Note + ")"
		}
	}
	return fmt.Sprintf("%s %s  %s  %s", mark, strings.TrimSpace(r.Threshold.Text), r.Side, value)
}

// Passed reports whether every result passed.
func Passed(results []Result) bool {
	for _, r := range results {
		if !r.Pass {
			return false
		}
	}
	return true
}

// Evaluate checks each threshold on each side but the baseline (on the
// only side when there is one), in threshold order, then side order. A
// change against the baseline with no other side is an error matching
// ErrInvalidInput.
func Evaluate(c *compare.Comparison, ts []Threshold) ([]Result, error) {
	var targets []int
	for s, sd := range c.Sides {
		if !sd.IsBaseline {
			targets = append(targets, s)
		}
	}
	alone := len(targets) == 0
	if alone {
		for s := range c.Sides {
			targets = append(targets, s)
		}
	}
	var out []Result
	for _, t := range ts {
		if t.Regression && alone {
			return nil, inputError{fmt.Errorf("threshold %q compares with the baseline: name another side to compare it with", t.Text)}
		}
		for _, s := range targets {
			r := Result{Threshold: t, Side: c.Sides[s].Side}
			var ok bool
			r.Value, ok, r.Note = value(&c.Sides[s], t)
			if ok {
				r.Known, r.Pass = true, t.Op.holds(r.Value, t.Limit)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// value looks up the number t bounds on side sd; false with a note when
// there is none.
func value(sd *compare.SideSummary, t Threshold) (float64, bool, string) {
	if t.IsScore() {
		return scoreValue(sd, t)
	}
	p := &sd.Perf
	opt := func(v *float64, why string) (float64, bool, string) {
		if v == nil {
			return 0, false, why
		}
		return *v, true, ""
	}
	pct := func(ps *compare.Percentiles, which, why string) (float64, bool, string) {
		if ps == nil {
			return 0, false, why
		}
		switch which {
		case "p50":
			return ps.P50, true, ""
		case "p95":
			return ps.P95, true, ""
		default:
			return ps.P99, true, ""
		}
	}
	switch kind, which, _ := strings.Cut(t.Target, "."); kind {
	case "error_rate":
		if p.Generations == 0 {
			return 0, false, "no generation"
		}
		return p.ErrorRate, true, ""
	case "flag":
		if p.Generations == 0 {
			return 0, false, "no generation"
		}
		return p.Flags[outputcheck.Flag(which)].Rate, true, ""
	case "latency":
		return pct(p.LatencyMS, which, "no live call")
	case "ttft":
		return pct(p.TTFTMS, which, "no live call measured TTFT")
	case "tokens_per_second":
		return opt(p.TokensPerSecond, "no live call")
	case "cost_usd":
		return opt(p.CostUSD, "no priced live call")
	default: // cost_per_item_usd
		return opt(p.CostPerItemUSD, "no priced live call")
	}
}

func scoreValue(sd *compare.SideSummary, t Threshold) (float64, bool, string) {
	if sd.Quality == nil {
		return 0, false, "no item compared"
	}
	if t.Regression {
		if sd.Delta == nil {
			return 0, false, "no difference to the baseline"
		}
		ds := &sd.Delta.Raw
		if t.Rescaled {
			if sd.Delta.Rescaled == nil {
				return 0, false, "no rescaled scores (the scoring has no baseline file)"
			}
			ds = sd.Delta.Rescaled
		}
		d := pickDelta(ds, t.Target)
		note := "Δ " + t.scoreName(false) + " " + t.Stat
		if t.Relative {
			if d.RelativePct == nil {
				return 0, false, "no relative change: the baseline's mean is 0"
			}
			return *d.RelativePct, true, "Δ " + t.scoreName(false) + " %"
		}
		return stat(d.Estimate, t.Stat), true, note
	}
	sc := &sd.Quality.Raw
	if t.Rescaled {
		if sd.Quality.Rescaled == nil {
			return 0, false, "no rescaled scores (the scoring has no baseline file)"
		}
		sc = sd.Quality.Rescaled
	}
	var e compare.Estimate
	switch t.Target {
	case "P":
		e = sc.P
	case "R":
		e = sc.R
	default:
		e = sc.F
	}
	return stat(e, t.Stat), true, ""
}

func pickDelta(ds *compare.DeltaScores, target string) compare.DeltaEstimate {
	switch target {
	case "P":
		return ds.P
	case "R":
		return ds.R
	default:
		return ds.F
	}
}

func stat(e compare.Estimate, name string) float64 {
	switch name {
	case "ci_low":
		return e.CILow
	case "ci_high":
		return e.CIHigh
	default:
		return e.Mean
	}
}

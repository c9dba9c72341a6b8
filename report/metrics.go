package report

import (
	"fmt"
	"strings"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// metric pairs a score's label with its place in the model.
type metric struct {
	name            string // "P", "R", "F"
	label, rescaled compare.Metric
	est             func(*compare.Scores) compare.Estimate
	delta           func(*compare.DeltaScores) compare.DeltaEstimate
	item            func(*compare.PRF) float64
}

var metrics = []metric{
	{"P", compare.MetricP, compare.MetricPRescaled, func(s *compare.Scores) compare.Estimate { return s.P }, func(d *compare.DeltaScores) compare.DeltaEstimate { return d.P }, func(p *compare.PRF) float64 { return p.P }},
	{"R", compare.MetricR, compare.MetricRRescaled, func(s *compare.Scores) compare.Estimate { return s.R }, func(d *compare.DeltaScores) compare.DeltaEstimate { return d.R }, func(p *compare.PRF) float64 { return p.R }},
	{"F", compare.MetricF, compare.MetricFRescaled, func(s *compare.Scores) compare.Estimate { return s.F }, func(d *compare.DeltaScores) compare.DeltaEstimate { return d.F }, func(p *compare.PRF) float64 { return p.F }},
}

// hasRescaled reports whether the comparison has rescaled scores.
func hasRescaled(c *compare.Comparison) bool {
	for _, sd := range c.Sides {
		if sd.Quality != nil && sd.Quality.Rescaled != nil {
			return true
		}
	}
	return false
}

// level writes a confidence level as "95 %".
func level(c float64) string { return fmt.Sprintf("%g %%", 100*c) }

// method names the bootstrap.
func method(st compare.Settings) string {
	if st.TwoLevel {
		return "two-level bootstrap (items, then repeats)"
	}
	return "bootstrap over items"
}

func estimate(e compare.Estimate) string {
	return fmt.Sprintf("%.3f [%.3f, %.3f]", e.Mean, e.CILow, e.CIHigh)
}

// signed writes x with three decimals and its sign, never "-0.000".
func signed(x float64) string {
	if x > -0.0005 && x < 0.0005 {
		x = 0
	}
	return fmt.Sprintf("%+.3f", x)
}

// relPct writes a relative change as "+2.5%", "n/a" without one.
func relPct(p *float64) string {
	if p == nil {
		return "n/a"
	}
	v := *p
	if v > -0.05 && v < 0.05 {
		v = 0
	}
	return fmt.Sprintf("%+.1f%%", v)
}

func pcts(p *compare.Percentiles) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f/%.0f/%.0f", p.P50, p.P95, p.P99)
}

func optFloat(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// flagRates writes the flags that occur, with counts and rates ("-" for
// none); errors have their own column.
func flagRates(rates map[outputcheck.Flag]compare.Rate) string {
	var parts []string
	for _, f := range outputcheck.All {
		if f == outputcheck.Error {
			continue
		}
		if r := rates[f]; r.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s %d (%.1f %%)", f, r.Count, 100*r.Rate))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// count writes "1 item", "2 items".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func shortHash(h string) string { return h[:min(12, len(h))] }

// sideName writes a side's name, marking the baseline.
func sideName(sd compare.SideSummary) string {
	if sd.IsBaseline {
		return sd.Side.String() + " (baseline)"
	}
	return sd.Side.String()
}

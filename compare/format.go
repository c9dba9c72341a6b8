package compare

import (
	"fmt"
	"math"
)

// Metric names one score of a comparison, as the study writes it.
type Metric string

// The metrics: raw P, R, F and their baseline-rescaled forms.
const (
	MetricP         Metric = "bertscore-p"
	MetricR         Metric = "bertscore-r"
	MetricF         Metric = "bertscore-f"
	MetricPRescaled Metric = "bertscore-p-rescaled"
	MetricRRescaled Metric = "bertscore-r-rescaled"
	MetricFRescaled Metric = "bertscore-f-rescaled"
)

// Change writes a change of a mean in the study's style: both values with
// three decimals and the relative change with one decimal and its sign,
// e.g. "bertscore-p 0.419 -> 0.445 (+6.2%)". The relative change is over
// the baseline's magnitude, so its sign is the change's even where a
// rescaled baseline is negative (-0.120 -> 0.060 is +150.0%). A zero
// baseline has no relative change: "(n/a)". A relative change that rounds
// to zero is "+0.0%", never "-0.0%".
func Change(label Metric, baseline, value float64) string {
	return fmt.Sprintf("%s %.3f -> %.3f (%s)", label, baseline, value, relative(baseline, value))
}

// relative writes 100 × (value − baseline) / |baseline| as "+6.2%".
func relative(baseline, value float64) string {
	if baseline == 0 {
		return "n/a"
	}
	pct := 100 * (value - baseline) / math.Abs(baseline)
	if math.Abs(pct) < 0.05 {
		pct = 0 // no "-0.0%"
	}
	return fmt.Sprintf("%+.1f%%", pct)
}

// signed writes x with three decimals and its sign, never "-0.000".
func signed(x float64) string {
	if math.Abs(x) < 0.0005 {
		x = 0
	}
	return fmt.Sprintf("%+.3f", x)
}

// Verdict writes the difference in one plain sentence: the change, its
// interval and p-value, and whether it is significant (the interval
// excludes 0), e.g.
//
//	bertscore-f 0.812 -> 0.824 (+1.5%): +0.012, 95 % CI +0.004 to +0.020, p = 0.0030
//	bertscore-f 0.812 -> 0.815 (+0.4%): not significant: 95 % CI -0.004 to +0.007 contains 0, p = 0.4100
func (d DeltaEstimate) Verdict(label Metric, confidence float64) string {
	head := Change(label, d.Baseline, d.Value)
	ci := fmt.Sprintf("%s CI %s to %s", level(confidence), signed(d.CILow), signed(d.CIHigh))
	if !d.Significant {
		return fmt.Sprintf("%s: not significant: %s contains 0, p = %.4f", head, ci, d.PValue)
	}
	return fmt.Sprintf("%s: %s, %s, p = %.4f", head, signed(d.Mean), ci, d.PValue)
}

// level writes a confidence level as "95 %".
func level(c float64) string {
	return fmt.Sprintf("%s %%", trimFloat(100*c))
}

func trimFloat(x float64) string {
	s := fmt.Sprintf("%.2f", x)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

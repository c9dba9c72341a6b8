package gate

import (
	"errors"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/compare"
)

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want Threshold
	}{
		{"F>=0.80", Threshold{Target: "F", Stat: "mean", Op: GE, Limit: 0.80}},
		{"P.ci_low>=0.78", Threshold{Target: "P", Stat: "ci_low", Op: GE, Limit: 0.78}},
		{" r.CI_HIGH < 0.9 ", Threshold{Target: "R", Stat: "ci_high", Op: LT, Limit: 0.9}},
		{"F.rescaled>0.3", Threshold{Target: "F", Rescaled: true, Stat: "mean", Op: GT, Limit: 0.3}},
		{"F.rescaled.ci_low<=0.5", Threshold{Target: "F", Rescaled: true, Stat: "ci_low", Op: LE, Limit: 0.5}},
		{"F:-0.01", Threshold{Target: "F", Stat: "mean", Op: GE, Limit: -0.01, Regression: true}},
		{"F.ci_low:-0.01", Threshold{Target: "F", Stat: "ci_low", Op: GE, Limit: -0.01, Regression: true}},
		{"F:+0.005", Threshold{Target: "F", Stat: "mean", Op: GE, Limit: 0.005, Regression: true}},
		{"F:0", Threshold{Target: "F", Stat: "mean", Op: GE, Limit: 0, Regression: true}},
		{"P.rescaled:-1.5%", Threshold{Target: "P", Rescaled: true, Stat: "mean", Op: GE, Limit: -1.5, Regression: true, Relative: true}},
		{"error_rate<=0.01", Threshold{Target: "error_rate", Op: LE, Limit: 0.01}},
		{"latency.p95<=2000", Threshold{Target: "latency.p95", Op: LE, Limit: 2000}},
		{"TTFT.p50<300", Threshold{Target: "ttft.p50", Op: LT, Limit: 300}},
		{"flag.wrong_language<=0.02", Threshold{Target: "flag.wrong_language", Op: LE, Limit: 0.02}},
		{"tokens_per_second>=20", Threshold{Target: "tokens_per_second", Op: GE, Limit: 20}},
		{"cost_per_item_usd<=0.001", Threshold{Target: "cost_per_item_usd", Op: LE, Limit: 0.001}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.text)
		tt.want.Text = tt.text
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"F", `threshold "F": no comparison: write TARGET>=NUMBER`},
		{"F>=", `threshold "F>=": no number after ">="`},
		{"F:", `threshold "F:": no number after ":"`},
		{"F>=abc", `threshold "F>=abc": "abc" is not a number`},
		{"F>=NaN", `"NaN" is not a number`},
		{"F=0.8", `threshold "F=0.8": "=" is no comparison: use >=, >, <=, < or :`},
		{">=0.8", `nothing before ">=": name a score or figure`},
		{"Q>=0.8", `unknown target "Q": a score is P, R or F`},
		{"F.median>=0.8", `unknown part "median" of "F.median"`},
		{"F.ci_low.x>=0.8", `"x" after F.ci_low`},
		{"F:0.01", `write the change's sign: F:-0.01 allows a drop of at most 0.01, F:+0.01 needs a gain of at least 0.01`},
		{"F.ci_low:-1%", `a relative change bounds the mean: write F:-1%`},
		{"latency.p95:-10", `a change against the baseline bounds a score (P, R or F)`},
		{"flag.shiny<=0.1", `unknown flag "shiny" (known: error,empty,wrong_language,truncated_input,truncated_output)`},
		{"latency.p90<=100", `unknown target "latency.p90"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.text)
		if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) error %v, want one line matching ErrInvalidInput with %q", tt.text, err, tt.want)
		}
	}
	if _, err := ParseAll([]string{"F>=0.8", "F>"}); err == nil || !strings.Contains(err.Error(), `"F>"`) {
		t.Errorf("ParseAll error %v, want the second threshold named", err)
	}
}

func ptr[T any](v T) *T { return &v }

// comparison is a baseline and one other side with known numbers.
func comparison() *compare.Comparison {
	est := func(m, lo, hi float64) compare.Estimate { return compare.Estimate{Mean: m, CILow: lo, CIHigh: hi} }
	base := compare.SideSummary{Side: compare.Side{Run: "r1", Variation: "a"}, IsBaseline: true,
		Quality: &compare.Quality{Items: 10, Generations: 10, Raw: compare.Scores{P: est(0.80, 0.79, 0.81), R: est(0.80, 0.79, 0.81), F: est(0.80, 0.79, 0.81)}},
		Perf:    compare.Perf{Generations: 10}}
	other := compare.SideSummary{Side: compare.Side{Run: "r2", Variation: "a"},
		Quality: &compare.Quality{Items: 10, Generations: 10,
			Raw:      compare.Scores{P: est(0.79, 0.775, 0.805), R: est(0.82, 0.81, 0.83), F: est(0.805, 0.785, 0.82)},
			Rescaled: &compare.Scores{F: est(0.35, 0.30, 0.40)}},
		Delta: &compare.Delta{Raw: compare.DeltaScores{
			P: compare.DeltaEstimate{Estimate: est(-0.01, -0.02, 0.001), Baseline: 0.80, Value: 0.79, RelativePct: ptr(-1.25)},
			F: compare.DeltaEstimate{Estimate: est(0.005, -0.012, 0.02), Baseline: 0.80, Value: 0.805, RelativePct: ptr(0.625)},
		}},
		Perf: compare.Perf{Generations: 10, Errors: 1, ErrorRate: 0.1, LatencyMS: &compare.Percentiles{N: 9, P50: 800, P95: 1900, P99: 2500}}}
	return &compare.Comparison{Baseline: base.Side, Sides: []compare.SideSummary{base, other}}
}

func TestEvaluate(t *testing.T) {
	c := comparison()
	tests := []struct {
		text  string
		pass  bool
		value float64
		known bool
	}{
		{"F>=0.80", true, 0.805, true},
		{"F.ci_low>=0.78", true, 0.785, true},
		{"F.ci_low>=0.79", false, 0.785, true},
		{"P>=0.80", false, 0.79, true},
		{"F:-0.01", true, 0.005, true},
		{"F.ci_low:-0.01", false, -0.012, true},
		{"P:-0.01", true, -0.01, true},   // exactly at the bound
		{"P:-0.005", false, -0.01, true}, // dropped 0.01
		{"P:-1%", false, -1.25, true},
		{"P:-2%", true, -1.25, true},
		{"F:+0.01", false, 0.005, true},
		{"F.rescaled>=0.3", true, 0.35, true},
		{"P.rescaled>=0.3", false, 0, true}, // zero value of the literal above: a real 0
		{"F.rescaled:-0.01", false, 0, false},
		{"error_rate<=0.05", false, 0.1, true},
		{"latency.p95<=2000", true, 1900, true},
		{"latency.p99<=2000", false, 2500, true},
		{"ttft.p95<=500", false, 0, false},
		{"cost_usd<=1", false, 0, false},
	}
	for _, tt := range tests {
		th, err := Parse(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := Evaluate(c, []Threshold{th})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Side != c.Sides[1].Side {
			t.Fatalf("%s: results %+v, want one, for the side that is not the baseline", tt.text, rs)
		}
		r := rs[0]
		if r.Pass != tt.pass || r.Known != tt.known || (tt.known && r.Value != tt.value) {
			t.Errorf("%s: pass %v known %v value %g (%s), want %v %v %g", tt.text, r.Pass, r.Known, r.Value, r.Note, tt.pass, tt.known, tt.value)
		}
		if !tt.known && r.Note == "" {
			t.Errorf("%s: no value and no note", tt.text)
		}
	}
}

func TestEvaluate_Sides(t *testing.T) {
	c := comparison()
	ts, err := ParseAll([]string{"F>=0.8", "F:-0.01"})
	if err != nil {
		t.Fatal(err)
	}
	// A third side: both thresholds on both non-baseline sides.
	third := c.Sides[1]
	third.Side = compare.Side{Run: "r3", Variation: "a"}
	third.Quality = &compare.Quality{Raw: compare.Scores{F: compare.Estimate{Mean: 0.7}}}
	c.Sides = append(c.Sides, third)
	rs, err := Evaluate(c, ts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.String())
	}
	want := []string{
		"✓ F>=0.8  r2:a  0.805",
		"✗ F>=0.8  r3:a  0.7",
		"✓ F:-0.01  r2:a  0.005 (Δ F mean)",
		"✓ F:-0.01  r3:a  0.005 (Δ F mean)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if Passed(rs) || !Passed(rs[:1]) || !Passed(nil) {
		t.Error("Passed")
	}

	// One side only: an absolute bound applies to it; a change is an error.
	alone := &compare.Comparison{Sides: c.Sides[:1]}
	if rs, err := Evaluate(alone, ts[:1]); err != nil || len(rs) != 1 || !rs[0].Pass || rs[0].Side != c.Sides[0].Side {
		t.Errorf("one side: %+v, %v", rs, err)
	}
	if _, err := Evaluate(alone, ts[1:]); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "name another side") {
		t.Errorf("one side, a change: %v", err)
	}
	// Nothing compared: fails with a note.
	c.Sides[1].Quality, c.Sides[1].Delta = nil, nil
	rs, _ = Evaluate(&compare.Comparison{Sides: c.Sides[:2]}, ts)
	if rs[0].Pass || rs[0].Known || rs[0].String() != "✗ F>=0.8  r2:a  no item compared" {
		t.Errorf("nothing compared: %q", rs[0])
	}
}

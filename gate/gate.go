// Package gate decides whether a comparison meets thresholds: the checks a
// CI job sets on `bertbench compare`, such as F>=0.80, P.ci_low>=0.78 or
// F:-0.01 (F may fall by at most 0.01 from the baseline).
//
// # Thresholds
//
//	TARGET OP NUMBER       an absolute bound on each side but the baseline
//	                       (on the only side when there is one)
//	SCORE ':' CHANGE       a bound on each side's difference to the baseline
//
// OP is >=, >, <= or <. A SCORE is P, R or F (raw), optionally
// ".rescaled", then optionally ".mean" (the default), ".ci_low" or
// ".ci_high": F, F.ci_low, P.rescaled.ci_high. Other TARGETs are the
// calls': error_rate, flag.NAME (a flag's rate, e.g.
// flag.wrong_language), latency.p50|p95|p99 and ttft.p50|p95|p99 (ms),
// tokens_per_second, cost_usd, cost_per_item_usd.
//
// A CHANGE has its sign written out: F:-0.01 passes when Δ F (side −
// baseline, its mean) >= -0.01, a drop of at most 0.01; F:+0.01 needs a
// gain of at least 0.01; F:0 no drop. With a stat it bounds that end of
// Δ's interval instead: F.ci_low:-0.01 passes when even the interval's
// low end is above -0.01. A trailing % bounds the relative change:
// F:-1% passes when F falls by at most 1 % of the baseline's.
//
// A threshold whose value is missing (no compared item, no rescaled
// scores, no live call) fails, with a note saying why.
//
// # Examples
//
//	ts, err := gate.ParseAll([]string{"F.ci_low>=0.78", "F:-0.01"})
//	...
//	results, err := gate.Evaluate(c, ts)
//	for _, r := range results {
//		fmt.Println(r) // ✓ F.ci_low>=0.78  r2:gpt  0.7912
//	}
//	if !gate.Passed(results) { ... }
package gate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/runners/outputcheck"
)

// ErrInvalidInput is matched by every error a threshold's text causes.
var ErrInvalidInput = errors.New("invalid threshold")

type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// Op is a comparison operator.
type Op string

// The operators.
const (
	GE Op = ">="
	GT Op = ">"
	LE Op = "<="
	LT Op = "<"
)

func (op Op) holds(value, limit float64) bool {
	switch op {
	case GE:
		return value >= limit
	case GT:
		return value > limit
	case LE:
		return value <= limit
	default:
		return value < limit
	}
}

// Threshold is one parsed threshold.
type Threshold struct {
	// Text is the threshold as written.
	Text string
	// Target is what is bounded: "P", "R" or "F" for a score, otherwise
	// a call figure ("error_rate", "latency.p95", "flag.empty", ...).
	Target string
	// Rescaled selects the rescaled score; Stat is "mean", "ci_low" or
	// "ci_high" (scores only).
	Rescaled bool
	Stat     string
	// Op and Limit are the bound. A regression bound is Δ >= Limit.
	Op    Op
	Limit float64
	// Regression bounds the difference to the baseline (SCORE:CHANGE);
	// Relative makes that the relative change in percent.
	Regression bool
	Relative   bool
}

// IsScore reports whether the threshold bounds a BERTScore.
func (t Threshold) IsScore() bool { return t.Target == "P" || t.Target == "R" || t.Target == "F" }

const syntax = "e.g. F>=0.80, P.ci_low>=0.78, F:-0.01, latency.p95<=2000"

var perfTargets = []string{"error_rate", "latency.p50", "latency.p95", "latency.p99", "ttft.p50", "ttft.p95", "ttft.p99",
	"tokens_per_second", "cost_usd", "cost_per_item_usd"}

// Parse reads one threshold. Errors are one line naming the threshold and
// match ErrInvalidInput.
func Parse(text string) (Threshold, error) {
	t := Threshold{Text: text}
	fail := func(format string, args ...any) (Threshold, error) {
		return Threshold{}, inputError{fmt.Errorf("threshold %q: %s", text, fmt.Sprintf(format, args...))}
	}
	s := strings.TrimSpace(text)
	i := strings.IndexAny(s, "<>:=")
	if i < 0 {
		return fail("no comparison: write TARGET>=NUMBER, TARGET<=NUMBER or SCORE:CHANGE (%s)", syntax)
	}
	target, rest := strings.TrimSpace(s[:i]), s[i:]
	switch {
	case strings.HasPrefix(rest, ">="), strings.HasPrefix(rest, "<="):
		t.Op, rest = Op(rest[:2]), rest[2:]
	case strings.HasPrefix(rest, ">"), strings.HasPrefix(rest, "<"):
		t.Op, rest = Op(rest[:1]), rest[1:]
	case strings.HasPrefix(rest, ":"):
		t.Op, t.Regression, rest = GE, true, rest[1:]
	default:
		return fail("%q is no comparison: use >=, >, <=, < or : (%s)", rest[:1], syntax)
	}
	if target == "" {
		return fail("nothing before %q: name a score or figure (%s)", t.Op, syntax)
	}
	if err := t.parseTarget(target); err != nil {
		return fail("%v", err)
	}
	num := strings.TrimSpace(rest)
	if t.Regression {
		if strings.HasSuffix(num, "%") {
			if t.Stat != "mean" {
				return fail("a relative change bounds the mean: write %s:%s", t.scoreName(false), num)
			}
			t.Relative, num = true, strings.TrimSpace(strings.TrimSuffix(num, "%"))
		}
		if !t.IsScore() {
			return fail("a change against the baseline bounds a score (P, R or F); bound %s with >= or <=", target)
		}
	}
	if num == "" {
		return fail("no number after %q (%s)", strings.TrimSpace(s[i:len(s)-len(rest)]), syntax)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fail("%q is not a number (%s)", num, syntax)
	}
	if t.Regression && v != 0 && num[0] != '-' && num[0] != '+' {
		return fail("write the change's sign: %s:-%s allows a drop of at most %s, %s:+%s needs a gain of at least %s",
			target, num, num, target, num, num)
	}
	t.Limit = v
	return t, nil
}

func (t *Threshold) parseTarget(target string) error {
	lower := strings.ToLower(target)
	for _, p := range perfTargets {
		if lower == p {
			t.Target = p
			return nil
		}
	}
	if name, ok := strings.CutPrefix(lower, "flag."); ok {
		for _, f := range outputcheck.All {
			if name == string(f) {
				t.Target = lower
				return nil
			}
		}
		return fmt.Errorf("unknown flag %q (known: %s)", name, outputcheck.JoinFlags(outputcheck.All))
	}
	parts := strings.Split(target, ".")
	switch m := strings.ToUpper(parts[0]); m {
	case "P", "R", "F":
		t.Target = m
	default:
		return fmt.Errorf("unknown target %q: a score is P, R or F (then .rescaled, then .mean, .ci_low or .ci_high); other targets: %s, flag.NAME",
			target, strings.Join(perfTargets, ", "))
	}
	t.Stat = "mean"
	parts = parts[1:]
	if len(parts) > 0 && strings.ToLower(parts[0]) == "rescaled" {
		t.Rescaled, parts = true, parts[1:]
	}
	if len(parts) > 0 {
		switch st := strings.ToLower(parts[0]); st {
		case "mean", "ci_low", "ci_high":
			t.Stat, parts = st, parts[1:]
		default:
			return fmt.Errorf("unknown part %q of %q: after the score come .rescaled, then .mean, .ci_low or .ci_high", parts[0], target)
		}
	}
	if len(parts) > 0 {
		return fmt.Errorf("%q after %s: a score is SCORE[.rescaled][.mean|.ci_low|.ci_high]", strings.Join(parts, "."), t.scoreName(true))
	}
	return nil
}

// scoreName writes the score's name, e.g. "F.rescaled.ci_low".
func (t Threshold) scoreName(withStat bool) string {
	s := t.Target
	if t.Rescaled {
		s += ".rescaled"
	}
	if withStat && t.Stat != "mean" {
		s += "." + t.Stat
	}
	return s
}

// ParseAll reads thresholds; the first error is returned.
func ParseAll(texts []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(texts))
	for _, s := range texts {
		t, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

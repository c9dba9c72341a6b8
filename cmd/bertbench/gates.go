package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/gate"
)

// The thresholds' flags, shared by every command that gates a comparison
// (compare, report, run): add gateFlags() to its flags, read them with
// gateThresholds, and write the comparison with writeReport (or call
// applyGates), which prints each threshold ✓/✗ and returns a gateFailure
// (exit 3) when one failed.
const (
	flagFailUnder     = "fail-under"
	flagMaxRegression = "max-regression"
	flagThreshold     = "threshold"
)

// gateHelp is the thresholds' syntax, for command help texts.
const gateHelp = `Thresholds (each repeatable; exit 3 when one fails, each printed ✓/✗
with its number):
  --fail-under 'F>=0.80'       a lower bound on every variation but the
                               baseline: P, R or F [.rescaled] [.ci_low|.ci_high]
                               ('F.ci_low>=0.78': the interval's low end)
  --max-regression 'F:-0.01'   the most a score may fall from the baseline
                               (F:-1% relative; 'F.ci_low:-0.01' on the
                               interval's end; F:+0.005 needs a gain)
  --threshold EXPR             any threshold, also upper bounds on the calls:
                               error_rate<=0.01, flag.wrong_language<=0.02,
                               latency.p95<=2000, ttft.p50<=300,
                               tokens_per_second>=20, cost_usd<=1,
                               cost_per_item_usd<=0.001`

// gateFlags returns the --fail-under, --max-regression and --threshold
// flags.
func gateFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: flagFailUnder, Usage: "fail (exit 3) unless every variation but the baseline meets the lower bound `SCORE>=N`, e.g. F>=0.80 or F.ci_low>=0.78 (repeatable)"},
		&cli.StringSliceFlag{Name: flagMaxRegression, Usage: "fail (exit 3) when a score falls from the baseline by more than `SCORE:-N`, e.g. F:-0.01 or F:-1% (repeatable)"},
		&cli.StringSliceFlag{Name: flagThreshold, Usage: "fail (exit 3) unless the threshold `EXPR` holds: any of the above, or a bound on the calls such as latency.p95<=2000 or error_rate<=0.01 (repeatable)"},
	}
}

// gateThresholds reads the gate flags of command name. A threshold that
// does not parse, or that does not fit its flag (--fail-under takes a
// lower bound, --max-regression a change against the baseline), is a
// usage error naming the flag.
func gateThresholds(c *cli.Context, name string) ([]gate.Threshold, error) {
	var out []gate.Threshold
	for _, flag := range []string{flagFailUnder, flagMaxRegression, flagThreshold} {
		for _, text := range c.StringSlice(flag) {
			t, err := gate.Parse(text)
			if err != nil {
				return nil, usagef("%s: --%s: %v", name, flag, err)
			}
			switch {
			case flag == flagFailUnder && (t.Regression || (t.Op != gate.GE && t.Op != gate.GT)):
				return nil, usagef("%s: --%s %q: want a lower bound, SCORE>=N (e.g. F>=0.80); use --max-regression for a change against the baseline, --threshold for an upper bound", name, flag, text)
			case flag == flagMaxRegression && !t.Regression:
				return nil, usagef("%s: --%s %q: want a change against the baseline, SCORE:-N (e.g. F:-0.01 or F:-1%%); use --fail-under or --threshold for a bound", name, flag, text)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// gateFailure is returned when a threshold failed: exit status 3
// (exitGate), distinct from a runtime failure (1) and a usage error (2).
type gateFailure struct {
	name   string
	failed []gate.Result
	total  int
}

func (e gateFailure) Error() string {
	parts := make([]string, 0, len(e.failed))
	for _, r := range e.failed[:min(5, len(e.failed))] {
		parts = append(parts, fmt.Sprintf("%s on %s", strings.TrimSpace(r.Threshold.Text), r.Side))
	}
	more := ""
	if len(e.failed) > 5 {
		more = fmt.Sprintf(" and %d more", len(e.failed)-5)
	}
	return fmt.Sprintf("%s: %d of %d thresholds failed: %s%s", e.name, len(e.failed), e.total, strings.Join(parts, ", "), more)
}

// ExitCode makes the process exit with exitGate.
func (gateFailure) ExitCode() int { return exitGate }

// evaluateGates checks ts on c; a threshold that cannot be checked (a
// change against the baseline with no other variation) is a usage error.
func evaluateGates(name string, c *compare.Comparison, ts []gate.Threshold) ([]gate.Result, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	rs, err := gate.Evaluate(c, ts)
	if errors.Is(err, gate.ErrInvalidInput) {
		return nil, asUsage(fmt.Errorf("%s: %w", name, err))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rs, nil
}

// printGates writes each result on its own line, ✓ or ✗ with its number.
func printGates(w io.Writer, rs []gate.Result) {
	for _, r := range rs {
		fmt.Fprintln(w, r)
	}
}

// gateOutcome is nil when every result passed, otherwise a gateFailure.
func gateOutcome(name string, rs []gate.Result) error {
	var failed []gate.Result
	for _, r := range rs {
		if !r.Pass {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return gateFailure{name: name, failed: failed, total: len(rs)}
}

// applyGates checks ts on c, prints every result to w and returns a
// gateFailure when one failed: the one call a command needs that prints
// its own summary (run) and only wants the gate.
func applyGates(w io.Writer, name string, c *compare.Comparison, ts []gate.Threshold) error {
	rs, err := evaluateGates(name, c, ts)
	if err != nil {
		return err
	}
	printGates(w, rs)
	return gateOutcome(name, rs)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/report"
	"github.com/bertbench/bertbench/store"
)

// reportOptions are the flags and argument of `bertbench report`.
type reportOptions struct {
	store string
	// run is the run id ("": the latest); baseline a variation of it, or
	// RUN:VARIATION ("": the run's first variation).
	run, baseline string
	scoring       string
	out           reportOutput
	resamples     int
	permutations  int
	seed          uint64
}

// reportCommand is `bertbench report`: a run's comparison, made again
// from the results store in any format. Nothing is generated or encoded.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "report a run from the results store: its variations compared, as text, JSON, CSV, Markdown or HTML (no model called, nothing encoded)",
		ArgsUsage: "[--store DIR|FILE] [--format text|json|csv|markdown|html] [-o FILE] [--baseline VARIATION] [--scoring HASH] [--fail-under SCORE>=N] [--max-regression SCORE:-N] [--threshold EXPR] [RUN (default: the latest)]",
		Description: `Compares the variations of one run from the scores and calls its results
store holds, as bertbench compare RUN does, and writes the report. It
calls no model and encodes no text: any format can be made again at any
time, and the same store, seed and resamples give the same bytes.

The baseline is the run's first variation unless --baseline names
another (VARIATION, or RUN:VARIATION of another run to compare against).

Formats: text, json (schema bertbench.compare/1, per-item rows included),
csv (one row per item, variation and repeat), markdown (for a
pull-request comment or $GITHUB_STEP_SUMMARY), html (one self-contained
file with charts and a per-item table).

` + gateHelp + `

Exit status: 0 ok, 1 runtime failure, 2 usage or input error, 3 a
threshold failed (the report is written first).`,
		Flags: append([]cli.Flag{
			newStoreFlag(),
			&cli.StringFlag{Name: "baseline", Aliases: []string{"b"}, Usage: "the reference `VARIATION` of the run, or RUN:VARIATION (default: the run's first variation)"},
			&cli.StringFlag{Name: "scoring", Usage: "report the scores of the scoring configuration `HASH` (or a prefix; default: the run's only one)"},
		}, append(append(reportFlags(), resamplingFlags()...), gateFlags()...)...),
		Action: func(c *cli.Context) error {
			o, err := reportCmdFlags(c)
			if err != nil {
				return err
			}
			return runReport(c.Context, o, c.App.Writer, c.App.ErrWriter)
		},
	}
}

func reportCmdFlags(c *cli.Context) (reportOptions, error) {
	o := reportOptions{store: c.String("store"), baseline: c.String("baseline"), scoring: c.String("scoring"),
		resamples: c.Int("resamples"), permutations: c.Int("permutations"), seed: c.Uint64("seed")}
	if err := checkResampling(c, "report"); err != nil {
		return o, err
	}
	switch args := c.Args().Slice(); {
	case len(args) == 1 && !strings.HasPrefix(args[0], "-"):
		o.run = args[0]
	case len(args) > 0:
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				return o, usagef("report: flag %s after the run id: put flags before RUN (see bertbench report --help)", a)
			}
		}
		return o, usagef("report: want one RUN, got %d arguments (bertbench compare compares several runs)", len(args))
	}
	if strings.Contains(o.run, ":") {
		return o, usagef("report: %q: want a run id; name the baseline variation with --baseline", o.run)
	}
	out, err := reportOutputFlags(c, "report")
	if err != nil {
		return o, err
	}
	o.out = out
	return o, nil
}

func runReport(ctx context.Context, o reportOptions, stdout, stderr io.Writer) (err error) {
	s, err := openRuns(ctx, "report", runsOptions{store: o.store})
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	c, err := reportComparison(ctx, s, o)
	if err != nil {
		return err
	}
	return writeReport("report", c, o.out, stdout, stderr)
}

// reportComparison compares the variations of run o.run ("": the latest
// run) in store s, as `bertbench report` does; run can call it to gate the
// run it just finished.
func reportComparison(ctx context.Context, s *store.Store, o reportOptions) (*compare.Comparison, error) {
	d, err := s.RunDetail(ctx, o.run)
	if errors.Is(err, store.ErrRunNotFound) {
		return nil, asUsage(fmt.Errorf("report: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	lo := compare.LoadOptions{Scoring: o.scoring, NoText: o.out.format == report.FormatText}
	if b := o.baseline; b != "" {
		if strings.Contains(b, ":") {
			sd, err := compare.ParseSide(b)
			if err != nil {
				return nil, asUsage(fmt.Errorf("report: --baseline: %w", err))
			}
			lo.Baseline = sd
		} else {
			lo.Baseline = compare.Side{Run: d.ID, Variation: b}
		}
	}
	return loadComparison(ctx, "report", s, []compare.Side{{Run: d.ID}}, lo,
		compare.Options{Resamples: o.resamples, Permutations: o.permutations, Seed: o.seed})
}

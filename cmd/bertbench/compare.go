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

// compareOptions are the flags and arguments of `bertbench compare`.
type compareOptions struct {
	// store is the results store file, or the output folder holding it.
	store    string
	sides    []compare.Side
	baseline compare.Side
	// scoring is a scoring configuration's hash or prefix ("": the one the
	// runs share).
	scoring string
	// out is the report's format and file, and the thresholds.
	out          reportOutput
	resamples    int
	permutations int
	seed         uint64
}

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare runs, or variations of a run: scores with confidence intervals, differences, latency, tokens and cost",
		ArgsUsage: "[--store DIR|FILE] [--baseline RUN[:VARIATION]] [--scoring HASH] [--format text|json|csv|markdown|html] [-o FILE] [--fail-under SCORE>=N] [--max-regression SCORE:-N] [--threshold EXPR] RUN[:VARIATION] ...",
		Description: `Reads the scores a results store holds and resamples them (nothing is
encoded again). A side is RUN:VARIATION, or RUN for every variation of
the run; the baseline (default: the first side) is the reference of every
difference. Items are aligned by id; items a side lacks or did not score
are listed, never dropped silently. Intervals are 95 % paired-bootstrap
intervals over items (two-level with repeats), p-values from a paired
approximate-randomisation test, both seeded. Latency, TTFT, tokens and
cost cover live (uncached, successful) calls only.

Formats: text (the terminal table), json (the whole comparison, per-item
rows included, schema bertbench.compare/1), csv (one row per item,
variation and repeat), markdown (for a pull-request comment or
$GITHUB_STEP_SUMMARY) and html (one self-contained file: charts and a
per-item table that sorts, filters and shows the difference between two
outputs). bertbench report RUN makes the same reports of a run at any
time.

` + gateHelp + `

Exit status: 0 ok, 1 runtime failure, 2 usage or input error, 3 a
threshold failed (the report is written first).`,
		Flags: append([]cli.Flag{
			newStoreFlag(),
			&cli.StringFlag{Name: "baseline", Aliases: []string{"b"}, Usage: "the reference side, `RUN[:VARIATION]` (default: the first side)"},
			&cli.StringFlag{Name: "scoring", Usage: "compare the scores of the scoring configuration `HASH` (or a prefix; default: the one the runs share)"},
		}, append(append(reportFlags(), resamplingFlags()...), gateFlags()...)...),
		Action: func(c *cli.Context) error {
			o, err := compareFlags(c)
			if err != nil {
				return err
			}
			return runCompare(c.Context, o, c.App.Writer, c.App.ErrWriter)
		},
	}
}

// compareFlags reads compare's flags and arguments into its options.
func compareFlags(c *cli.Context) (compareOptions, error) {
	o := compareOptions{store: c.String("store"), scoring: c.String("scoring"),
		resamples: c.Int("resamples"), permutations: c.Int("permutations"), seed: c.Uint64("seed")}
	if err := checkResampling(c, "compare"); err != nil {
		return o, err
	}
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") {
			return o, usagef("compare: flag %s after the sides: put flags before RUN[:VARIATION] (see bertbench compare --help)", a)
		}
		sd, err := compare.ParseSide(a)
		if err != nil {
			return o, asUsage(fmt.Errorf("compare: %w", err))
		}
		o.sides = append(o.sides, sd)
	}
	if b := c.String("baseline"); b != "" {
		sd, err := compare.ParseSide(b)
		if err != nil {
			return o, asUsage(fmt.Errorf("compare: --baseline: %w", err))
		}
		o.baseline = sd
	}
	if len(o.sides) == 0 {
		return o, usagef("compare: want at least one side, RUN[:VARIATION] (bertbench runs list shows the runs)")
	}
	out, err := reportOutputFlags(c, "compare")
	if err != nil {
		return o, err
	}
	o.out = out
	return o, nil
}

func runCompare(ctx context.Context, o compareOptions, stdout, stderr io.Writer) (err error) {
	s, err := openRuns(ctx, "compare", runsOptions{store: o.store})
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	c, err := loadComparison(ctx, "compare", s, o.sides, compare.LoadOptions{Scoring: o.scoring, Baseline: o.baseline, NoText: o.out.format == report.FormatText},
		compare.Options{Resamples: o.resamples, Permutations: o.permutations, Seed: o.seed})
	if err != nil {
		return err
	}
	return writeReport("compare", c, o.out, stdout, stderr)
}

// loadComparison reads the sides from the store and compares them; errors
// are the command name's, the caller's mistakes usage errors.
func loadComparison(ctx context.Context, name string, s *store.Store, sides []compare.Side, lo compare.LoadOptions, co compare.Options) (*compare.Comparison, error) {
	in, err := compare.Load(ctx, s, sides, lo)
	if err != nil {
		return nil, compareErr(name, err)
	}
	c, err := compare.Compare(ctx, *in, co)
	if err != nil {
		return nil, compareErr(name, err)
	}
	return c, nil
}

func compareErr(name string, err error) error {
	if errors.Is(err, compare.ErrInvalidInput) {
		return asUsage(fmt.Errorf("%s: %w", name, err))
	}
	return fmt.Errorf("%s: %w", name, err)
}

// resamplingFlags are --resamples, --permutations and --seed (compare,
// report).
func resamplingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "resamples", Value: compare.DefaultResamples, Usage: "bootstrap resamples `N`"},
		&cli.IntFlag{Name: "permutations", Value: compare.DefaultPermutations, Usage: "approximate-randomisation rounds `N`"},
		&cli.Uint64Flag{Name: "seed", Value: compare.DefaultSeed, Usage: "seed `N` of the resampling (the same seed gives the same numbers)"},
	}
}

func checkResampling(c *cli.Context, name string) error {
	if c.Int("resamples") < 1 || c.Int("permutations") < 1 {
		return usagef("%s: --resamples and --permutations must be at least 1 (default %d)", name, compare.DefaultResamples)
	}
	return nil
}

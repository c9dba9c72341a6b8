package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/runners/outputcheck"
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
	// format is text or json.
	format       string
	resamples    int
	permutations int
	seed         uint64
}

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare runs, or variations of a run: scores with confidence intervals, differences, latency, tokens and cost",
		ArgsUsage: "[--store DIR|FILE] [--baseline RUN[:VARIATION]] [--scoring HASH] [--format text|json] RUN[:VARIATION] ...",
		Description: `Reads the scores a results store holds and resamples them (nothing is
encoded again). A side is RUN:VARIATION, or RUN for every variation of
the run; the baseline (default: the first side) is the reference of every
difference. Items are aligned by id; items a side lacks or did not score
are listed, never dropped silently. Intervals are 95 % paired-bootstrap
intervals over items (two-level with repeats), p-values from a paired
approximate-randomisation test, both seeded. Latency, TTFT, tokens and
cost cover live (uncached, successful) calls only. --format json writes
the whole comparison, per-item rows included, as schema
bertbench.compare/1.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "store", Aliases: []string{"s"}, Value: ".", TakesFile: true,
				Usage: "the experiment's output `DIR` (its " + store.FileName + ") or the store FILE"},
			&cli.StringFlag{Name: "baseline", Aliases: []string{"b"}, Usage: "the reference side, `RUN[:VARIATION]` (default: the first side)"},
			&cli.StringFlag{Name: "scoring", Usage: "compare the scores of the scoring configuration `HASH` (or a prefix; default: the one the runs share)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output `FORMAT`: text or json"},
			&cli.IntFlag{Name: "resamples", Value: compare.DefaultResamples, Usage: "bootstrap resamples `N`"},
			&cli.IntFlag{Name: "permutations", Value: compare.DefaultPermutations, Usage: "approximate-randomisation rounds `N`"},
			&cli.Uint64Flag{Name: "seed", Value: compare.DefaultSeed, Usage: "seed `N` of the resampling (the same seed gives the same numbers)"},
		},
		Action: func(c *cli.Context) error {
			o, err := compareFlags(c)
			if err != nil {
				return err
			}
			return runCompare(c.Context, o, c.App.Writer)
		},
	}
}

// compareFlags reads compare's flags and arguments into its options.
func compareFlags(c *cli.Context) (compareOptions, error) {
	o := compareOptions{store: c.String("store"), scoring: c.String("scoring"), format: c.String("format"),
		resamples: c.Int("resamples"), permutations: c.Int("permutations"), seed: c.Uint64("seed")}
	if o.format != "text" && o.format != "json" {
		return o, usagef("compare: invalid value %q for --format: want text or json", o.format)
	}
	if o.resamples < 1 || o.permutations < 1 {
		return o, usagef("compare: --resamples and --permutations must be at least 1 (default %d)", compare.DefaultResamples)
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
	return o, nil
}

func runCompare(ctx context.Context, o compareOptions, w io.Writer) (err error) {
	s, err := openRuns(ctx, "compare", runsOptions{store: o.store})
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	in, err := compare.Load(ctx, s, o.sides, compare.LoadOptions{Scoring: o.scoring, Baseline: o.baseline, NoText: o.format == "text"})
	if err != nil {
		return compareErr(err)
	}
	c, err := compare.Compare(ctx, *in, compare.Options{Resamples: o.resamples, Permutations: o.permutations, Seed: o.seed})
	if err != nil {
		return compareErr(err)
	}
	if o.format == "json" {
		return writeRunsJSON(w, c)
	}
	return writeComparison(w, c)
}

func compareErr(err error) error {
	if errors.Is(err, compare.ErrInvalidInput) {
		return asUsage(fmt.Errorf("compare: %w", err))
	}
	return fmt.Errorf("compare: %w", err)
}

// compareMetrics pairs each score's label with its place in the model.
var compareMetrics = []struct {
	label, rescaled compare.Metric
	est             func(*compare.Scores) compare.Estimate
	delta           func(*compare.DeltaScores) compare.DeltaEstimate
}{
	{compare.MetricP, compare.MetricPRescaled, func(s *compare.Scores) compare.Estimate { return s.P }, func(d *compare.DeltaScores) compare.DeltaEstimate { return d.P }},
	{compare.MetricR, compare.MetricRRescaled, func(s *compare.Scores) compare.Estimate { return s.R }, func(d *compare.DeltaScores) compare.DeltaEstimate { return d.R }},
	{compare.MetricF, compare.MetricFRescaled, func(s *compare.Scores) compare.Estimate { return s.F }, func(d *compare.DeltaScores) compare.DeltaEstimate { return d.F }},
}

// writeComparison prints a comparison for people: scores, differences to
// the baseline, calls, and the items left out.
func writeComparison(w io.Writer, c *compare.Comparison) error {
	st := c.Settings
	lvl := fmt.Sprintf("%g %%", 100*st.Confidence)
	method := "bootstrap over items"
	if st.TwoLevel {
		method = "two-level bootstrap (items, then repeats)"
	}
	fmt.Fprintf(w, "baseline %s; scoring %s; %s CI, %s, %d resamples, %d permutations, seed %d\n",
		c.Baseline, shortHash(st.Scoring), lvl, method, st.Resamples, st.Permutations, st.Seed)
	al := c.Alignment
	fmt.Fprintf(w, "items    %d compared of %d%s\n", al.Compared, al.Items, idList("; left out", al.Excluded))
	if len(al.Conflicts) > 0 {
		fmt.Fprintf(w, "warning  %d items have another source or references on some side%s\n", len(al.Conflicts), idList(":", al.Conflicts))
	}

	name := func(sd compare.SideSummary) string {
		if sd.IsBaseline {
			return sd.Side.String() + " (baseline)"
		}
		return sd.Side.String()
	}
	fmt.Fprintf(w, "\nscores (mean [%s CI])\n", lvl)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SIDE\tSCORE\tRAW\tRESCALED")
	rescaled := false
	for _, sd := range c.Sides {
		q := sd.Quality
		if q == nil {
			fmt.Fprintf(tw, "  %s\t-\tno item compared\t\n", name(sd))
			continue
		}
		for i, m := range compareMetrics {
			resc := "-"
			if q.Rescaled != nil {
				rescaled = true
				resc = estimate(m.est(q.Rescaled))
			}
			side := ""
			if i == 0 {
				side = name(sd)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", side, strings.TrimPrefix(string(m.label), "bertscore-"), estimate(m.est(&q.Raw)), resc)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !rescaled && al.Compared > 0 {
		fmt.Fprintln(w, "  note: raw scores only. Raw multilingual-BERT scores sit high and close together; score with a baseline (rescaling) to spread them.")
	}

	for _, sd := range c.Sides {
		if sd.Delta == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s vs %s\n", sd.Side, c.Baseline)
		for _, m := range compareMetrics {
			fmt.Fprintf(w, "  %s\n", m.delta(&sd.Delta.Raw).Verdict(m.label, st.Confidence))
		}
		if sd.Delta.Rescaled != nil {
			for _, m := range compareMetrics {
				fmt.Fprintf(w, "  %s\n", m.delta(sd.Delta.Rescaled).Verdict(m.rescaled, st.Confidence))
			}
		}
		f := sd.Delta.Raw.F
		fmt.Fprintf(w, "  items on F: %d wins, %d ties, %d losses\n", f.Wins, f.Ties, f.Losses)
	}

	fmt.Fprintf(w, "\ncalls (latency, TTFT, tokens and cost over live calls)\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SIDE\tSTORED\tLIVE\tCACHED\tERRORS\tLATENCY P50/P95/P99 MS\tTTFT P50/P95/P99 MS\tTOKENS IN/OUT\tTOKENS/S\tCOST USD\tPER ITEM\tFLAGS")
	for _, sd := range c.Sides {
		p := sd.Perf
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d (%.1f %%)\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", sd.Side, p.Generations, p.Live, p.Cached, p.Errors, 100*p.ErrorRate,
			pcts(p.LatencyMS), pcts(p.TTFTMS), p.PromptTokens, p.CompletionTokens, optFloat(p.TokensPerSecond, "%.1f"),
			optFloat(p.CostUSD, "%.4f"), optFloat(p.CostPerItemUSD, "%.6f"), flagRates(p.Flags))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, sd := range c.Sides {
		cv := sd.Coverage
		var parts []string
		if len(cv.Missing) > 0 {
			parts = append(parts, fmt.Sprintf("%s missing%s", count(len(cv.Missing), "item"), idList(":", cv.Missing)))
		}
		if len(cv.Unscored) > 0 {
			parts = append(parts, fmt.Sprintf("%s without a score (failed or not scored)%s", count(len(cv.Unscored), "item"), idList(":", cv.Unscored)))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "\n%s: %s\n", sd.Side, strings.Join(parts, "; "))
		}
	}
	return nil
}

func estimate(e compare.Estimate) string {
	return fmt.Sprintf("%.3f [%.3f, %.3f]", e.Mean, e.CILow, e.CIHigh)
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

func flagRates(rates map[outputcheck.Flag]compare.Rate) string {
	var parts []string
	for _, f := range outputcheck.All {
		if f == outputcheck.Error {
			continue // the ERRORS column
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

// idList writes up to ten ids after prefix, then how many more.
func idList(prefix string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	const most = 10
	s := prefix + " " + strings.Join(ids[:min(most, len(ids))], ", ")
	if len(ids) > most {
		s += fmt.Sprintf(" and %d more (--format json lists them all)", len(ids)-most)
	}
	return s
}

// count writes "1 item", "2 items".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func shortHash(h string) string { return h[:min(12, len(h))] }

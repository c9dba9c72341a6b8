package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/gate"
	"github.com/bertbench/bertbench/report"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/pricing"
	"github.com/bertbench/bertbench/store"
)

// runOptions are the flags of `bertbench run`.
type runOptions struct {
	config  string
	out     string
	resume  bool
	noCache bool
	threads int
	prices  string
	// gates are the thresholds checked on the finished run; baseline names
	// the variation --max-regression compares with.
	gates    []gate.Threshold
	baseline string
}

// runCommand is `bertbench run`: an experiment config, executed.
func runCommand() *cli.Command {
	// Flags may follow CONFIG (bertbench run demo.yaml --resume).
	return withInterspersedFlags(&cli.Command{
		Name:      "run",
		Usage:     "run an experiment: every variation over the dataset, scored, into a results store",
		ArgsUsage: "CONFIG.yaml",
		UsageText: "bertbench run CONFIG.yaml [--out DIR] [--resume] [--no-cache] [--threads N]",
		Description: `Reads the experiment config (see examples/demo.yaml and docs/experiments.md),
asks every variation for every item of the dataset, repeat times, through its
runner, and scores the outputs with BERTScore. Everything goes, as it
finishes, into the SQLite store results.db in the output folder (the
config's output, else runs/NAME beside it; --out overrides it): killing the
process at any moment loses nothing that finished, and --resume continues
the latest run there without calling a model again for an output it has or
storing anything twice. Every output is checked before it is scored (empty,
failed, wrong language, cut by the context window or the token limit); the
flags are stored and counted, never dropped.

At the end a table sums each variation up: mean P, R and F (and rescaled),
tokens in and out, the median latency of the live calls, the outputs that
came from the response cache or a recording, failed calls and flags. The
store is read with bertbench runs list|show|export --store DIR.

Exit status: 0 done; 1 a runtime failure, or some calls failed (the store
has their errors; --resume tries them again); 2 a config or input error;
3 a gate failed (--fail-under, --max-regression, --threshold: each is
printed with its number; with gates, failed calls are reported and the
gates, error_rate among them, decide); 130 interrupted (everything finished is kept:
rerun with --resume).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, TakesFile: true, Usage: "output `DIR` (default: the config's output, else runs/NAME beside the config)"},
			&cli.BoolFlag{Name: "resume", Usage: "continue the latest run in the output folder"},
			&cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the response cache"},
			newCacheDirFlag(),
			&cli.IntFlag{Name: "threads", Usage: "`N` CPU threads for scoring (0 = every core)"},
			&cli.StringFlag{Name: "prices", TakesFile: true, Usage: "price table `FILE` (JSON, USD per 1M tokens) laid over the built-in one"},
			&cli.StringFlag{Name: "baseline", Usage: "the `VARIATION` the gates' --max-regression compares with (default: the first variation)"},
		}, gateFlags()...),
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			var err error
			o := runOptions{out: c.String("out"), resume: c.Bool("resume"), noCache: c.Bool("no-cache"), threads: c.Int("threads"), prices: c.String("prices")}
			switch {
			case len(args) == 0:
				return usagef("run: want the experiment CONFIG file (e.g. bertbench run examples/demo.yaml)")
			case len(args) > 1:
				return usagef("run: want one CONFIG file, got %d arguments (%s)", len(args), strings.Join(args, " "))
			}
			o.config = args[0]
			if o.threads < 0 {
				return usagef("run: --threads must not be negative")
			}
			if err := checkThreads("run", o.threads); err != nil {
				return err
			}
			if o.gates, err = gateThresholds(c, "run"); err != nil {
				return err
			}
			o.baseline = c.String("baseline")
			return runExperiment(c, o)
		},
	})
}

func runExperiment(c *cli.Context, o runOptions) error {
	ctx, stderr := c.Context, c.App.ErrWriter
	cfg, err := experiment.Load(o.config)
	if err != nil {
		return experimentError(err)
	}
	opts := experiment.Options{Out: o.out, Resume: o.resume, Threads: o.threads, ToolVersion: version,
		ORTLib: c.String("ort-lib"), CUDAProvider: c.String("cuda-ep"), Stderr: stderr}
	if o.prices != "" {
		if opts.Prices, err = pricing.Load(o.prices); err != nil {
			return asUsage(fmt.Errorf("run: --prices: %w", err))
		}
	}
	if !o.noCache {
		dir, err := responseCacheDir(c)
		if err != nil {
			return fmt.Errorf("run: %w (or pass --cache-dir or --no-cache)", err)
		}
		if opts.Cache, err = cache.Open(dir); err != nil {
			return fmt.Errorf("run: %w (or pass --cache-dir or --no-cache)", err)
		}
	}
	if opts.Models, err = modelsCache(c); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	bars := &phaseBars{w: stderr}
	opts.Progress = bars.update
	rep, err := experiment.Execute(ctx, cfg, opts)
	bars.finish()
	if errors.Is(err, experiment.ErrInvalidInput) {
		return experimentError(err)
	}
	resume := fmt.Sprintf("bertbench run %s --resume", o.config)
	if o.out != "" {
		resume = fmt.Sprintf("bertbench run %s --out %s --resume", o.config, o.out)
	}
	if len(rep.Variations) > 0 {
		if werr := writeRunReport(c.App.Writer, rep); werr != nil && err == nil {
			err = werr
		}
	}
	switch {
	case ctx.Err() != nil:
		return cli.Exit(fmt.Sprintf("run: interrupted: %d generations and %d scores stored this session in %s, everything finished is kept; continue with: %s",
			rep.Generated, rep.Scored, rep.Store, resume), interruptCode(ctx))
	case err != nil:
		if rep.Store != "" {
			return fmt.Errorf("run: %w (what finished is in %s; continue with: %s)", err, rep.Store, resume)
		}
		return fmt.Errorf("run: %w", err)
	case rep.Failed > 0 && len(o.gates) > 0:
		// With gates the thresholds decide (error_rate among them): the
		// failed calls are reported, not an exit status of their own.
		fmt.Fprintf(stderr, "bertbench: run: warning: %d of %d calls failed (their errors are stored; %s tries them again); the gates decide the exit status\n",
			rep.Failed, rep.Generated, resume)
	case rep.Failed > 0:
		return fmt.Errorf("run: %d of %d calls failed (their errors are stored: bertbench runs export --store %s); %s tries them again",
			rep.Failed, rep.Generated, rep.Store, resume)
	}
	return gateRun(ctx, stderr, rep, o)
}

// gateRun checks the run's thresholds (exit 3 when one fails) on the
// comparison of its variations, as `bertbench report` makes it.
func gateRun(ctx context.Context, w io.Writer, rep *experiment.Report, o runOptions) error {
	if len(o.gates) == 0 {
		return nil
	}
	st, err := store.OpenExisting(ctx, rep.Store)
	if err != nil {
		return fmt.Errorf("run: gates: %w", err)
	}
	defer st.Close()
	cmp, err := reportComparison(ctx, st, reportOptions{run: rep.RunID, baseline: o.baseline,
		resamples: compare.DefaultResamples, permutations: compare.DefaultPermutations, seed: compare.DefaultSeed,
		out: reportOutput{format: report.FormatText}})
	if err != nil {
		return err
	}
	return applyGates(w, "run", cmp, o.gates)
}

// experimentError reports a config or input error (exit 2): each problem
// on its own line, as the config package words it.
func experimentError(err error) error {
	return asUsage(fmt.Errorf("run: %w", err))
}

// writeRunReport prints the per-variation table and where the results are.
func writeRunReport(w io.Writer, rep *experiment.Report) error {
	if _, err := fmt.Fprintln(w, rep.Table().Render()); err != nil {
		return err
	}
	how := "new run"
	if rep.Resumed {
		how = "resumed run"
	}
	_, err := fmt.Fprintf(w, "%s %s in %s: %d of %d generations stored now (%d kept from before, %d failed), %d scored (%d encoded)\n",
		how, rep.RunID, rep.Store, rep.Generated, rep.Planned, rep.Skipped, rep.Failed, rep.Scored, rep.Encoded)
	return err
}

// phaseBars draws a progress bar per phase on a terminal.
type phaseBars struct {
	w     io.Writer
	phase experiment.Phase
	bar   *progressbar.ProgressBar
}

func (b *phaseBars) update(p experiment.Progress) {
	if p.Phase != b.phase {
		b.finish()
		b.phase = p.Phase
		if p.Total > 0 {
			b.bar = newProgressBar(b.w, p.Total, 2, string(p.Phase), "items")
		}
	}
	if b.bar != nil {
		_ = b.bar.Set(p.Done)
	}
}

func (b *phaseBars) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
	}
}

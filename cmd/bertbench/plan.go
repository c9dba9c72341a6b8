package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/shard"
	"github.com/bertbench/bertbench/store"
)

// planCommand is `bertbench plan`.
func planCommand() *cli.Command { return newPlanCommand(resolveScoreModel) }

func newPlanCommand(resolve scoreModelResolver) *cli.Command {
	refs, jobEnv := &stringList{}, &stringList{}
	return &cli.Command{
		Name:      "plan",
		Usage:     "cut a scoring job into shards for a cluster (then score --plan, merge)",
		UsageText: "bertbench plan [score's flags: --model, -c, -r, --field, --idf, --rescale, --device, ...] --shards N | --shard-size K --out DIR [--emit slurm|k8s|local [--parallel K] ...]",
		Description: `Reads the inputs as bertbench score would (text files, or --field from a
JSONL, CSV or TSV file) and writes DIR/plan.json: the input files' sha256
digests and item counts, the model and settings, the scorer configuration
(and hash) the shards produce, the shards as contiguous ranges of items (a
candidate with several references is one item, never split), each with its
first and last item id and a digest of its items, and, with --idf, the idf
table over every reference: a shard never computes idf over its own part.
The plan opens the model on the CPU whatever --device says (it tokenizes,
it does not encode); the shards run on --device. A model that does not run
there is refused (an int8 model for --device cuda).

Then run each shard, anywhere that sees DIR and the inputs at the same
relative place:  bertbench score --plan DIR/plan.json --shard I  (or
--shard-from-env in a Slurm job array or a Kubernetes Indexed Job), and
put them together:  bertbench merge DIR/plan.json. The merged output is
byte for byte what bertbench score prints for the whole input. A run in a
results store is not planned yet: plan a variation's outputs (--field
output) against the dataset, and merge --store puts the scores back into
the run for compare and report.

--emit hands the plan to an engine (docs/scale.md): slurm writes
DIR/slurm-score.sbatch (the job array, --array=0-(N-1)%K, --gres=gpu:1 with
--device cuda), DIR/slurm-merge.sbatch and DIR/slurm-submit.sh (sbatch the
array, then the merge with --dependency=afterok); k8s writes
DIR/k8s-score-job.yaml (an Indexed Job: completions N, parallelism K,
backoffLimitPerIndex, nvidia.com/gpu with --device cuda, the plan on
--pvc at --mount) and DIR/k8s-merge-job.yaml, to apply once the first is
complete; local scores the shards here, K processes at once (one per GPU
with --device cuda), then prints the merge as score would.`,
		Flags: append(append(scoringFlags(refs),
			&cli.IntFlag{Name: "shards", Usage: "cut the job into `N` shards of (nearly) equal size"},
			&cli.IntFlag{Name: "shard-size", Usage: "cut the job into shards of `K` items (the last one smaller)"},
			&cli.StringFlag{Name: "out", Usage: "the plan's folder `DIR` (made if missing): plan.json, then the shards' files", TakesFile: true},
		), emitFlags(jobEnv)...),
		Action: func(cCtx *cli.Context) error { return runPlan(cCtx, resolve, refs.values, jobEnv.values) },
	}
}

func runPlan(cCtx *cli.Context, resolve scoreModelResolver, refFiles, jobEnv []string) error {
	if cCtx.NArg() > 0 {
		return usagef("plan: unexpected argument %q (inputs go in -c and -r)", cCtx.Args().First())
	}
	if err := checkScoringFlags("plan", cCtx, refFiles); err != nil {
		return err
	}
	n, size := cCtx.Int("shards"), cCtx.Int("shard-size")
	switch {
	case n < 0 || size < 0:
		return usagef("plan: --shards and --shard-size must be positive")
	case (n > 0) == (size > 0):
		return usagef("plan: give --shards N (how many shards) or --shard-size K (items per shard), one of them")
	case cCtx.String("out") == "":
		return usagef("plan: missing --out DIR (the plan's folder)")
	}
	in := shard.Inputs{Cands: cCtx.String("cands"), Refs: refFiles, Field: cCtx.String("field"), IDField: cCtx.String("id-field")}
	if err := in.Check(); err != nil {
		return classifyErr("plan", err)
	}
	if err := checkEmitFlags(cCtx, jobEnv); err != nil {
		return err
	}
	spec := cCtx.String("model")
	model, err := resolve(cCtx, spec, cCtx.String("lang"))
	if err != nil {
		return asUsage(fmt.Errorf("plan: %w", err))
	}
	if m := model.Manifest; m != nil && m.Synthetic {
		fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: warning: %s has random weights (models synth): its scores measure speed only, not translation quality\n", model.Name)
	}
	openOpts, scoreOpts, err := scoreOptions("plan", cCtx)
	if err != nil {
		return err
	}
	// Planning tokenizes; it encodes nothing: the CPU will do.
	tf32 := openOpts.TF32
	openOpts.Device, openOpts.TF32 = onnxrt.Device{}, false
	openOpts.Precision = strings.TrimSuffix(openOpts.Precision, modelspec.TF32Suffix)
	m, err := bertscore.OpenResolved(cCtx.Context, model, openOpts)
	if err != nil {
		return classifyErr("plan", err)
	}
	defer m.Close()
	isDir := false
	if st, err := os.Stat(spec); spec != "" && err == nil && st.IsDir() {
		isDir = true
	}
	dev, _ := onnxrt.ParseDevice(cCtx.String("device")) // checked
	p, err := shard.Make(cCtx.Context, shard.MakeOptions{
		Inputs: in,
		Model:  m,
		Scoring: shard.Scoring{Model: spec, ModelDir: isDir, Lang: cCtx.String("lang"), Layer: cCtx.Int("layer"),
			Device: dev.String(), TF32: tf32, BatchTokens: cCtx.Int("batch-tokens")},
		Threads: cCtx.Int("threads"),
		IDF:     scoreOpts.IDF, IDFTable: scoreOpts.IDFTable, Rescale: scoreOpts.Rescale, BaselineTable: scoreOpts.BaselineTable,
		Shards: n, ShardSize: size, Dir: cCtx.String("out"),
	})
	if err != nil {
		return classifyErr("plan", err)
	}
	if cCtx.String("emit") != "" {
		// --emit local prints the merged results on stdout: the plan's
		// summary goes to stderr.
		fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: %s: %d items in %d shards, %s\n", p.Path(), p.Items, p.NumShards(), p.Hash)
		return emitPlan(cCtx, p, jobEnv)
	}
	fmt.Fprintf(cCtx.App.Writer, "%s: %d items in %d shards, %s\n", p.Path(), p.Items, p.NumShards(), p.Hash)
	fmt.Fprintf(cCtx.App.Writer, "next: bertbench score --plan %s --shard I  (I = 0..%d), then bertbench merge %s\n", p.Path(), p.NumShards()-1, p.Path())
	return nil
}

// shardRuntimeFlags are the flags score --plan takes besides the plan's
// own: they change how a shard runs, not what it scores.
var shardRuntimeFlags = []string{"plan", "shard", "shard-from-env", "device", "tf32", "threads", "batch-tokens", "cache-dir"}

// runScoreShard is score --plan: one shard of a plan.
func runScoreShard(cCtx *cli.Context, resolve scoreModelResolver, refFiles []string) error {
	if cCtx.NArg() > 0 {
		return usagef("score: unexpected argument %q", cCtx.Args().First())
	}
	path := cCtx.String("plan")
	if path == "" {
		flag := "--shard"
		if !cCtx.IsSet("shard") {
			flag = "--shard-from-env"
		}
		return usagef("score: %s needs --plan FILE (the plan.json that bertbench plan wrote)", flag)
	}
	if len(refFiles) > 0 {
		return usagef("score: -r comes from the plan: drop it with --plan")
	}
	for _, f := range cCtx.Command.Flags {
		name := f.Names()[0]
		if cCtx.IsSet(name) && !slices.Contains(shardRuntimeFlags, name) {
			return usagef("score: --%s comes from the plan: drop it with --plan (only --%s may be given)", name, strings.Join(shardRuntimeFlags[3:7], ", --"))
		}
	}
	fromEnv, hasIndex := cCtx.Bool("shard-from-env"), cCtx.IsSet("shard")
	if fromEnv == hasIndex {
		return usagef("score: with --plan give --shard I or --shard-from-env, one of them")
	}
	if err := checkSizeFlags("score", cCtx); err != nil {
		return err
	}
	// --tf32 without --device runs on the plan's device: checked once the
	// plan is read.
	tf32Only := cCtx.IsSet("tf32") && !cCtx.IsSet("device")
	if !tf32Only {
		if err := checkDeviceFlags("score", cCtx.String("device"), cCtx.Bool("tf32")); err != nil {
			return err
		}
	}
	p, err := shard.Load(path)
	if err != nil {
		return classifyErr("score", err)
	}
	if tf32Only && p.DeviceKind() != "cuda" {
		return usagef("score: --tf32 only applies with --device cuda, and the plan %s runs on %s (the CPU always computes in strict float32)", path, p.Device())
	}
	i := cCtx.Int("shard")
	if fromEnv {
		if i, err = shard.IndexFromEnv(os.Getenv); err != nil {
			return classifyErr("score", err)
		}
	}
	o := shard.RunOptions{
		Open: func(ctx context.Context, spec string, opts bertscore.Options) (*bertscore.Model, error) {
			r, err := resolve(cCtx, spec, opts.Lang)
			if err != nil {
				return nil, err
			}
			opts.ORTLib, opts.CUDAProvider = cCtx.String("ort-lib"), cCtx.String("cuda-ep")
			return bertscore.OpenResolved(ctx, r, opts)
		},
		Threads: cCtx.Int("threads"),
	}
	switch {
	case cCtx.IsSet("device"):
		o.Device, o.TF32 = cCtx.String("device"), cCtx.Bool("tf32")
	case tf32Only:
		o.Device, o.TF32 = p.Device(), cCtx.Bool("tf32")
	}
	if cCtx.IsSet("batch-tokens") {
		o.BatchTokens = cCtx.Int("batch-tokens")
	}
	if i >= 0 && i < p.NumShards() {
		bar := newProgress(cCtx.App.ErrWriter, p.Shards[i].Count)
		if bar != nil {
			o.Progress = func(done, _ int) { _ = bar.Set(done) }
			defer bar.Finish()
		}
	}
	d, already, err := p.Run(cCtx.Context, i, o)
	if err != nil {
		return classifyErr("score", err)
	}
	if already {
		fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: shard %d of %d is already done (%s is valid): nothing to score\n", i, p.NumShards(), p.DonePath(i))
		return nil
	}
	fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: shard %d of %d: %d pairs scored into %s\n", i, p.NumShards(), d.Count, p.ShardPath(i))
	return nil
}

// mergeCommand is `bertbench merge`.
func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "put the shards of a plan together into score's output",
		UsageText: "bertbench merge DIR/plan.json [--format text|json|jsonl|csv] [-o FILE] [--store DIR|FILE --run RUN --variation NAME [--repeat N]]",
		Description: `Reads every shard's done marker and results beside the plan and prints
what bertbench score prints for the whole input, byte for byte, in every
format: the pairs in item order, the hash, the means added in item order.
The order the shards finished in changes nothing.

It refuses, in one line naming the shard and the command that fixes it: a
missing shard (no done marker), a shard of another plan, a shard scored with
a configuration that does not give the plan's scores (see the scorer's
SameScores: the same model and settings, and exact float32 or the same kind
of device), a duplicate marker, a results file that does not match its
marker, and shard files the plan does not have.

With --store, --run and --variation it also stores the scores in a results
store as those of the run's variation (of --repeat, 0 by default), under
the plan's scoring hash: compare and report then read them like the run's
own (compare --scoring HASH). The plan must be of that variation's outputs
against the run's dataset (plan -c outputs.jsonl --field output -r
dataset.jsonl), each item with a successful generation in the run, and
without --rescale (a store keeps raw scores).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output `FORMAT`: " + strings.Join(scoreFormats, ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the results to `FILE` instead of stdout", TakesFile: true},
			&cli.StringFlag{Name: "store", Usage: "also store the scores in the results store `DIR|FILE` (with --run and --variation)", TakesFile: true},
			&cli.StringFlag{Name: "run", Usage: "with --store: the `RUN` whose outputs the plan scored"},
			&cli.StringFlag{Name: "variation", Usage: "with --store: the run's variation `NAME` whose outputs the plan scored"},
			&cli.IntFlag{Name: "repeat", Usage: "with --store: the variation's repeat `N` (0-based)"},
		},
		Action: runMerge,
	}
}

func runMerge(cCtx *cli.Context) error {
	if cCtx.NArg() != 1 {
		return usagef("merge: want the plan file: bertbench merge DIR/plan.json")
	}
	format := cCtx.String("format")
	if !slices.Contains(scoreFormats, format) {
		return usagef("merge: unknown --format %q (want one of %s)", format, strings.Join(scoreFormats, ", "))
	}
	if out := cCtx.String("output"); out != "" && out != "-" {
		if err := outfile.Check(out); err != nil {
			return asUsage(fmt.Errorf("merge: output: %w", err))
		}
	}
	storePath := cCtx.String("store")
	switch {
	case storePath == "" && (cCtx.IsSet("run") || cCtx.IsSet("variation") || cCtx.IsSet("repeat")):
		return usagef("merge: --run, --variation and --repeat go with --store DIR|FILE")
	case storePath != "" && (cCtx.String("run") == "" || cCtx.String("variation") == ""):
		return usagef("merge: --store needs --run RUN and --variation NAME: the run and variation whose outputs the plan scored")
	}
	p, err := shard.Load(cCtx.Args().First())
	if err != nil {
		return classifyErr("merge", err)
	}
	m, err := p.Merge(cCtx.Context)
	if err != nil {
		return classifyErr("merge", err)
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: warning: %s\n", w)
	}
	warnScores(cCtx.App.ErrWriter, m.Result)
	if storePath != "" {
		if err := mergeIntoStore(cCtx, storePath, m); err != nil {
			return err
		}
	}
	return writeCommandOutput("merge", cCtx.String("output"), cCtx.App.Writer, func(w io.Writer) error {
		return writeScores(w, format, m.Result)
	})
}

// mergeIntoStore is merge --store: the merged scores stored as the
// scores of --run's --variation.
func mergeIntoStore(cCtx *cli.Context, path string, m *shard.Merged) error {
	ctx := cCtx.Context
	s, err := store.OpenExisting(ctx, path)
	if err != nil {
		return asUsage(fmt.Errorf("merge: --store: %w", err)) // missing, or not a store
	}
	defer s.Close()
	run, err := s.OpenRun(ctx, cCtx.String("run"))
	if errors.Is(err, store.ErrRunNotFound) {
		return asUsage(fmt.Errorf("merge: --run: %w", err))
	}
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	variation := cCtx.String("variation")
	n, err := m.Store(ctx, run, variation, cCtx.Int("repeat"))
	if err != nil {
		return classifyErr("merge", err)
	}
	fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: %d scores of %s:%s stored in %s (%d new) under %s\n", len(m.Result.Pairs), run.ID(), variation, s.Path(), n, m.Result.Hash)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
	"github.com/bertbench/bertbench/shard"
)

// scoreModelResolver turns the --model and --lang values into a model
// folder: a folder path, a cached model name, or the language's default.
type scoreModelResolver func(cCtx *cli.Context, spec, lang string) (*models.Resolved, error)

// resolveScoreModel resolves through the model cache (--cache-dir).
func resolveScoreModel(cCtx *cli.Context, spec, lang string) (*models.Resolved, error) {
	cache, err := modelsCache(cCtx)
	if err != nil {
		return nil, err
	}
	return cache.Resolve(cCtx.Context, spec, lang)
}

// progressMinPairs is the input length from which a progress bar is shown
// (when stderr is a terminal).
const progressMinPairs = 200

// scoreFormats lists the --format values.
var scoreFormats = []string{"text", "json", "jsonl", "csv"}

// scoreCommand is `bertbench score`.
func scoreCommand() *cli.Command { return newScoreCommand(resolveScoreModel) }

func newScoreCommand(resolve scoreModelResolver) *cli.Command {
	refs := &stringList{}
	return &cli.Command{
		Name:      "score",
		Usage:     "BERTScore candidate translations against references",
		UsageText: "bertbench score [--model DIR|NAME] [--lang CODE] -c CANDS [--field NAME [--id-field NAME]] -r REFS [-r REFS2 ...] [--idf] [--rescale [--baseline FILE]] [--device cpu|cuda[:N] [--tf32]] [--precision fp32|tf32|fp16|int8] [--format text|json|jsonl|csv] [-o FILE]\n   bertbench score --plan DIR/plan.json --shard I | --shard-from-env [--device cpu|cuda[:N] [--tf32]] [--threads N] [--batch-tokens N]",
		Description: `Files hold one sentence per line (UTF-8); line i of every reference file
is a reference for line i of the candidate file, and the best P, R and F over
the references are kept. An empty line is an empty sentence and scores 0.
"-" reads standard input.

With --field NAME the candidates are the NAME field of a JSONL, CSV or TSV
file, such as translate's results (--field output), in any order: each is
matched to the references by its item, the --id-field (default id), else its
"line" field (translate writes the input's line), else its line in the file;
an output holding newlines stays one candidate. The references are then
line-aligned text files (items L1, L2, ...) or one dataset file (JSONL, CSV,
TSV) with the items' ids and references; the scores come in the references'
order. A candidate file of JSON objects without --field is refused, never
scored as sentences.

Text output: one "P<TAB>R<TAB>F" line per candidate, then the configuration
hash with the system means. --format json prints
{"hash": ..., "pairs": [{"P": p, "R": r, "F": f}, ...], "mean": {...}}.

--device cuda runs the encoder on the first CUDA GPU (cuda:N on the N-th)
through the CUDA execution provider that "make cuda-ep" installs; it needs
CUDA 13's cuBLAS, cudart and cuRAND on the library path. It computes in
strict float32 (scores agree with the CPU's to 1e-5) unless --tf32 is given:
faster, not exact (hidden states moved by up to 2.6e-3 on an mBERT-size
model; the hash then says fp32+tf32). The hash names the device and
precision that really ran.

The encoder's precision is the model's, chosen when it was built (models
import|pull|synth --precision) and read from its graph: ` + precisionBounds + `.
The hash names the precision (",int8"), so scores of two precisions never
compare as the same. --precision P checks it: fp32, fp16 or int8 must be
the model's own (another is refused with one line); tf32 is --tf32.

With --plan (see bertbench plan) score scores one shard of a planned job:
--shard I, or --shard-from-env for a cluster's task index
($JOB_COMPLETION_INDEX in a Kubernetes Indexed Job, else
$SLURM_ARRAY_TASK_ID in a Slurm job array). The inputs, model and settings
come from the plan (only --device, --tf32, --threads and --batch-tokens may
be given; --tf32 without --device runs on the plan's CUDA device); it
checks the inputs' digests, writes the shard's pairs to
shard-NNNNN.jsonl beside the plan and, last, a done marker
shard-NNNNN.done.json. A shard already done exits 0 at once; bertbench merge
puts the shards together.`,
		Flags: append(scoringFlags(refs),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output `FORMAT`: " + strings.Join(scoreFormats, ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the results to `FILE` instead of stdout", TakesFile: true},
			&cli.StringFlag{Name: "plan", Usage: "score one shard of the plan `FILE` (bertbench plan) instead of -c and -r: its inputs, model and settings", TakesFile: true},
			&cli.IntFlag{Name: "shard", Value: -1, Usage: "with --plan: the shard `I` to score (0 to the plan's shards - 1)"},
			&cli.BoolFlag{Name: "shard-from-env", Usage: "with --plan: the shard is $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), else $SLURM_ARRAY_TASK_ID (a Slurm job array)"},
		),
		Action: func(cCtx *cli.Context) error { return runScore(cCtx, resolve, refs.values) },
	}
}

// scoringFlags are score's flags that say what to score and how; plan
// takes them too. refs collects -r and --refs.
func scoringFlags(refs *stringList) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cands", Aliases: []string{"c"}, Usage: "candidate `FILE`, one sentence per line (- = stdin)", TakesFile: true},
		// -r and --refs are two flags sharing one list (not aliases: the
		// CLI library would copy an alias's value into the other name,
		// duplicating the files), so -r a --refs b keeps both in order.
		&cli.GenericFlag{Name: "refs", Usage: "reference `FILE` (also -r FILE), line-aligned with the candidates; repeat for several references", Value: refs, TakesFile: true},
		&cli.GenericFlag{Name: "r", Usage: "reference `FILE`", Value: refs, TakesFile: true, Hidden: true},
		&cli.StringFlag{Name: "field", Usage: "read the candidates from the `NAME` field of a JSONL (CSV, TSV) file, matched to the references by item (e.g. --field output for translate's results)"},
		&cli.StringFlag{Name: "id-field", Usage: "with --field: the candidates' item id `FIELD` (default id; without one, the \"line\" field, else the line in the file)"},
		&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "model folder `DIR` (model.onnx, tokenizer.json, optional bertbench.json) or a pulled model's NAME (default: the --lang default, else bert-base-multilingual-cased)", TakesFile: true},
		&cli.StringFlag{Name: "lang", Usage: "target language `CODE` (zh, en, de, ...): picks the default model and its rescale baseline"},
		newCacheDirFlag(),
		&cli.BoolFlag{Name: "idf", Usage: "weigh tokens by idf over the references"},
		&cli.StringFlag{Name: "idf-file", Usage: "weigh tokens by the idf table in `FILE` (JSON {\"num_docs\": N, \"default\": d, \"idf\": {\"<id>\": v}}); implies --idf", TakesFile: true},
		&cli.BoolFlag{Name: "rescale", Usage: "rescale scores with a baseline: (x-b)/(1-b)"},
		&cli.StringFlag{Name: "baseline", Usage: "baseline `FILE` (LAYER,P,R,F; the row of the model's layer is used); default: the model manifest's values", TakesFile: true},
		&cli.IntFlag{Name: "layer", Usage: "the encoder layer `N` the model outputs (needed with --baseline for a folder without bertbench.json)"},
		&cli.IntFlag{Name: "batch-tokens", Value: scorer.DefaultBatchTokens, Usage: "token budget `N` per encoder batch (sentences × padded length)"},
		&cli.IntFlag{Name: "threads", Usage: "`N` CPU threads for the encoder, the tokenizer and matching (0 = every core)"},
		&cli.StringFlag{Name: "device", Value: "cpu", Usage: "run the encoder on `DEVICE`: " + onnxrt.DeviceUsage + " (CUDA needs `make cuda-ep` and CUDA 13's libraries)"},
		&cli.BoolFlag{Name: "tf32", Usage: "with --device cuda: compute float32 products in TF32 (faster, not exact: hidden states move by up to 2.6e-3)"},
		&cli.StringFlag{Name: "precision", Usage: runtimePrecisionUsage()},
	}
}

func runScore(cCtx *cli.Context, resolve scoreModelResolver, refFiles []string) error {
	if cCtx.IsSet("plan") || cCtx.IsSet("shard") || cCtx.Bool("shard-from-env") {
		return runScoreShard(cCtx, resolve, refFiles)
	}
	ctx := cCtx.Context
	format, err := checkScoreFlags(cCtx, refFiles)
	if err != nil {
		return err
	}
	// -o is written once scoring is done; a path that cannot be written is
	// reported now, before stdin is read or the model loaded.
	if out := cCtx.String("output"); out != "" && out != "-" {
		if err := outfile.Check(out); err != nil {
			return asUsage(fmt.Errorf("score: output: %w", err))
		}
	}
	cands, refs, err := readScorePairs(scoreInputs{cands: cCtx.String("cands"), refs: refFiles,
		field: cCtx.String("field"), idField: cCtx.String("id-field"), stdin: cCtx.App.Reader})
	if err != nil {
		return err
	}
	if len(cands) == 0 {
		return usagef("score: %s has no lines: nothing to score", cCtx.String("cands"))
	}
	model, err := resolve(cCtx, cCtx.String("model"), cCtx.String("lang"))
	if err != nil {
		return asUsage(fmt.Errorf("score: %w", err))
	}
	if m := model.Manifest; m != nil && m.Synthetic {
		fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: warning: %s has random weights (models synth): its scores measure speed only, not translation quality\n", model.Name)
	}
	openOpts, scoreOpts, err := scoreOptions("score", cCtx)
	if err != nil {
		return err
	}
	bar := newProgress(cCtx.App.ErrWriter, len(cands))
	if bar != nil {
		scoreOpts.Progress = func(done, _ int) { _ = bar.Set(done) }
	}
	m, err := bertscore.OpenResolved(ctx, model, openOpts)
	if err != nil {
		return classifyScoreErr(err)
	}
	defer m.Close()
	s, err := m.Scorer(scoreOpts)
	if err != nil {
		return classifyScoreErr(err)
	}
	res, err := s.Score(ctx, cands, refs)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return classifyScoreErr(err)
	}
	warnScores(cCtx.App.ErrWriter, res)
	return writeOutput(cCtx.String("output"), cCtx.App.Writer, func(w io.Writer) error {
		return writeScores(w, format, res)
	})
}

// checkScoreFlags rejects flag combinations that cannot work, before any
// file is read. It returns the output format.
func checkScoreFlags(cCtx *cli.Context, refFiles []string) (string, error) {
	if cCtx.NArg() > 0 {
		return "", usagef("score: unexpected argument %q (inputs go in -c and -r)", cCtx.Args().First())
	}
	format := cCtx.String("format")
	if err := checkScoringFlags("score", cCtx, refFiles); err != nil {
		return "", err
	}
	if !slices.Contains(scoreFormats, format) {
		return "", usagef("score: unknown --format %q (want one of %s)", format, strings.Join(scoreFormats, ", "))
	}
	return format, nil
}

// checkScoringFlags checks the flags scoringFlags defines, for command.
func checkScoringFlags(command string, cCtx *cli.Context, refFiles []string) error {
	if cCtx.String("cands") == "" {
		return usagef("%s: no candidates: give them with -c FILE (one sentence per line; - reads stdin)", command)
	}
	if len(refFiles) == 0 {
		return usagef("%s: no reference file: give one with -r FILE (repeat for several references)", command)
	}
	if cCtx.IsSet("baseline") && !cCtx.Bool("rescale") {
		return usagef("%s: --baseline is only used with --rescale", command)
	}
	return checkRuntimeFlags(command, cCtx)
}

// checkRuntimeFlags checks --layer, --batch-tokens, --threads, --device,
// --tf32 and --precision.
func checkRuntimeFlags(command string, cCtx *cli.Context) error {
	if err := checkSizeFlags(command, cCtx); err != nil {
		return err
	}
	if err := checkDeviceFlags(command, cCtx.String("device"), cCtx.Bool("tf32")); err != nil {
		return err
	}
	dev, _ := onnxrt.ParseDevice(cCtx.String("device")) // checked
	_, _, err := runtimePrecision(command, cCtx, dev)
	return err
}

// checkSizeFlags checks --layer, --batch-tokens and --threads.
func checkSizeFlags(command string, cCtx *cli.Context) error {
	for _, name := range []string{"layer", "batch-tokens", "threads"} {
		if cCtx.Int(name) < 0 {
			return usagef("%s: --%s must not be negative", command, name)
		}
	}
	if err := checkThreads(command, cCtx.Int("threads")); err != nil {
		return err
	}
	if cCtx.IsSet("batch-tokens") && cCtx.Int("batch-tokens") == 0 {
		return usagef("%s: --batch-tokens must be positive", command)
	}
	return nil
}

// checkDeviceFlags checks a --device value and --tf32 with it.
func checkDeviceFlags(command, device string, tf32 bool) error {
	dev, err := onnxrt.ParseDevice(device)
	if err != nil {
		return usagef("%s: --device: %v", command, err)
	}
	if tf32 && dev.Kind != onnxrt.CUDA {
		return usagef("%s: --tf32 only applies with --device cuda (the CPU always computes in strict float32)", command)
	}
	return nil
}

// scoreOptions builds the model's and the scorer's options from the
// flags, reading the idf and baseline files; command names the command in
// errors.
func scoreOptions(command string, cCtx *cli.Context) (bertscore.Options, bertscore.ScorerOptions, error) {
	dev, err := onnxrt.ParseDevice(cCtx.String("device"))
	if err != nil {
		return bertscore.Options{}, bertscore.ScorerOptions{}, asUsage(fmt.Errorf("%s: --device: %w", command, err))
	}
	tf32, precision, err := runtimePrecision(command, cCtx, dev)
	if err != nil {
		return bertscore.Options{}, bertscore.ScorerOptions{}, err
	}
	open := bertscore.Options{
		Lang:         cCtx.String("lang"),
		Layer:        cCtx.Int("layer"),
		ORTLib:       cCtx.String("ort-lib"),
		Device:       dev,
		TF32:         tf32,
		Precision:    precision,
		CUDAProvider: cCtx.String("cuda-ep"),
		Threads:      cCtx.Int("threads"),
	}
	opts := bertscore.ScorerOptions{
		IDF:         cCtx.Bool("idf"),
		Rescale:     cCtx.Bool("rescale"),
		Lang:        cCtx.String("lang"),
		BatchTokens: cCtx.Int("batch-tokens"),
	}
	if path := cCtx.String("idf-file"); path != "" {
		if opts.IDFTable, err = scorer.ReadIDFFile(path); err != nil {
			return open, opts, asUsage(fmt.Errorf("%s: %w", command, err))
		}
	}
	if path := cCtx.String("baseline"); path != "" {
		if opts.BaselineTable, err = scorer.ReadBaselineFile(path); err != nil {
			return open, opts, asUsage(fmt.Errorf("%s: %w", command, err))
		}
	}
	return open, opts, nil
}

// warnScores tells, on w, about pairs that scored 0 for lack of tokens,
// about sentences truncated to the model's length and about undefined
// (NaN) scores.
func warnScores(w io.Writer, res *scorer.Result) {
	if e := res.Stats; e.EmptyCandidates+e.EmptyReferences > 0 {
		fmt.Fprintf(w, "bertbench: warning: %d empty candidate(s) and %d empty reference(s) (no tokens); their pairs score 0, as in the reference\n", e.EmptyCandidates, e.EmptyReferences)
	}
	if e := res.Stats; e.TruncatedCandidates+e.TruncatedReferences > 0 {
		fmt.Fprintf(w, "bertbench: warning: %d candidate(s) and %d reference(s) are longer than %d tokens; their scores cover only the first %d tokens (the reference truncates the same way, silently)\n", e.TruncatedCandidates, e.TruncatedReferences, e.MaxTokens, e.MaxTokens)
	}
	if n := undefinedPairs(res); n > 0 {
		fmt.Fprintf(w, "bertbench: warning: %d of %d pairs have an undefined P or R (every token of a side weighs 0: under idf, or spelled-out special tokens only); they are NaN (null in JSON), as in the reference, and so are the means\n", n, len(res.Pairs))
	}
}

// classifyScoreErr makes input problems usage errors (exit 2); the rest
// are runtime failures (exit 1).
func classifyScoreErr(err error) error { return classifyErr("score", err) }

// classifyErr makes input problems usage errors (exit 2), the rest
// runtime failures (exit 1), for command.
func classifyErr(command string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: interrupted", command)
	}
	if bertscore.IsInputError(err) || errors.Is(err, shard.ErrInvalidInput) || errors.Is(err, dataset.ErrInvalidInput) {
		return asUsage(fmt.Errorf("%s: %w", command, err))
	}
	return fmt.Errorf("%s: %w", command, err)
}

// newProgress returns a progress bar on w when w is a terminal and the
// input is long enough to want one; nil otherwise.
func newProgress(w io.Writer, total int) *progressbar.ProgressBar {
	return newProgressBar(w, total, progressMinPairs, "scoring", "pairs")
}

// writeOutput runs write on stdout, or on the file path (see outfile: a
// regular file is replaced only once write succeeds; a symlink's target,
// a FIFO or a device is written, never replaced).
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	return writeCommandOutput("score", path, stdout, write)
}

// writeCommandOutput is writeOutput for command.
func writeCommandOutput(command, path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	f, err := outfile.Create(path, 0o644)
	if err != nil {
		return asUsage(fmt.Errorf("%s: output: %w", command, err))
	}
	defer f.Close()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("%s: writing %s: %w", command, path, err)
	}
	return nil
}

// undefinedPairs counts the pairs whose P or R is NaN.
func undefinedPairs(res *scorer.Result) int {
	n := 0
	for _, p := range res.Pairs {
		if math.IsNaN(p.P) || math.IsNaN(p.R) {
			n++
		}
	}
	return n
}

// stringList is a repeatable string flag whose values are never split on
// commas (file names may hold commas).
type stringList struct{ values []string }

func (l *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty file name")
	}
	l.values = append(l.values, v)
	return nil
}

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ", ")
}

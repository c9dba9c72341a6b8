package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

// benchCommand is `bertbench bench`.
func benchCommand() *cli.Command {
	return &cli.Command{
		Name:        "bench",
		Usage:       "measure speed: the scorer, translation runners, the CPU's peak",
		Subcommands: []*cli.Command{benchScorerCommand(resolveScoreModel), benchGenerateCommand(), benchPeakCommand()},
	}
}

func benchScorerCommand(resolve scoreModelResolver) *cli.Command {
	refs := &stringList{}
	return &cli.Command{
		Name:      "scorer",
		Usage:     "measure BERTScore scoring speed: pairs/s, tokens/s, padding, batch latency, memory",
		UsageText: "bertbench bench scorer [--model DIR|NAME] [--pairs N] [--lengths N|MIN:MAX] [--seed N] [-c CANDS -r REFS] [--device cpu|cuda[:N]] [--precision fp32|tf32|fp16|int8] [--batch-tokens N] [--threads N] [--warmup N] [--runs N] [--format text|json]",
		Description: `Opens the model once (its load time is reported apart), scores the pairs
--warmup times unmeasured, then --runs times measured, and reports the
measured runs' mean: pairs/s, tokens/s, padding efficiency (tokens over
the encoder's padded input), encoder batch latency p50/p95 (every measured
batch), the time spent tokenizing, encoding and matching, and the process's
peak RSS. GPU memory is not measured yet.

The pairs are --pairs synthetic ones (seeded by --seed) whose sentences have
--lengths words, N each or uniformly MIN:MAX; every sentence is distinct,
so the scorer's de-duplication hides no work. With -c and -r files the
pairs are read instead (the first --pairs of them when --pairs is given).
Tokens are the tokens the encoder ran: the scorer encodes each distinct
sentence of a chunk once, so a corpus of repeated sentences counts fewer
tokens than it holds.

--format json prints one object: pairs (per run), runs, warmup,
pairs_per_s, tokens_per_s, tokens (per run), padding_efficiency,
batch_p50_s, batch_p95_s, total_s (a run's scoring time, the model already
loaded), load_s (the model's load), tokenize_s, encode_s, match_s (per run;
tokenizing overlaps encoding), peak_rss_bytes (0 where not known), model,
device and precision (what really ran).

gflop_per_token is the encoder's arithmetic a token at the mean sentence
length (2·(4H² + 2HI)·L + 4·S·H·L, from config.json and the layers kept)
and encoder_gflops its rate over encode_s, padding not counted. With
--peak (CPU only) the practical peak is measured first in the same process
(a --peak-size MatMul through ONNX Runtime, int8 for an int8 model, with
the same --threads: see bench peak), and the object adds peak_gflops (the
best run), peak_median_gflops, peak_precision, fraction_of_peak
(encoder_gflops / peak_gflops), theoretical_gflops (an estimate from the
CPU's flags and clock) and cpu.

With --profile PREFIX, ONNX Runtime traces every node of the encoder (the
warm-up included) into PREFIX_<date>.json (Chrome's trace format, for
chrome://tracing or Perfetto), and the result adds the time by operator type
after ONNX Runtime's fusions ("profile": {"file", "ops": [{"op", "calls",
"share", "seconds"}]}, the most time first): where the encoder's time goes.

The precision is the model's, chosen when it was built (models import|pull|
synth --precision fp32|fp16|int8); --precision checks it: a model of
another precision is refused with one line. tf32 means an fp32 model with
TF32 products (--device cuda only, as score's --tf32). Declared fidelity
against fp32: ` + precisionBounds + `.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "model folder `DIR` or a pulled model's NAME (default: bert-base-multilingual-cased)", TakesFile: true},
			newCacheDirFlag(),
			&cli.IntFlag{Name: "pairs", Value: 1000, Usage: "`N` synthetic pairs (with -c/-r: the first N pairs of the files)"},
			&cli.StringFlag{Name: "lengths", Value: "15:40", Usage: "synthetic sentence lengths in words: `N` or MIN:MAX (uniform)"},
			&cli.IntFlag{Name: "seed", Value: 1, Usage: "synthetic pairs' random `SEED`"},
			&cli.StringFlag{Name: "cands", Aliases: []string{"c"}, Usage: "candidate `FILE`, one sentence per line, instead of synthetic pairs (needs -r)", TakesFile: true},
			&cli.GenericFlag{Name: "refs", Usage: "reference `FILE` (also -r FILE), line-aligned with -c; repeat for several references", Value: refs, TakesFile: true},
			&cli.GenericFlag{Name: "r", Usage: "reference `FILE`", Value: refs, TakesFile: true, Hidden: true},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "run the encoder on `DEVICE`: " + onnxrt.DeviceUsage},
			&cli.StringFlag{Name: "precision", Usage: runtimePrecisionUsage()},
			&cli.IntFlag{Name: "batch-tokens", Value: scorer.DefaultBatchTokens, Usage: "token budget `N` per encoder batch"},
			&cli.IntFlag{Name: "threads", Usage: "`N` CPU threads (0 = every core)"},
			&cli.IntFlag{Name: "warmup", Value: 1, Usage: "`N` unmeasured runs first"},
			&cli.IntFlag{Name: "runs", Value: 3, Usage: "`N` measured runs"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output `FORMAT`: text or json"},
			&cli.BoolFlag{Name: "peak", Usage: "measure the CPU's practical GEMM peak first (as bench peak), and report the encoder's fraction of it"},
			&cli.StringFlag{Name: "profile", Usage: "have ONNX Runtime trace every node into `PREFIX`_<date>.json (warm-up included) and report the encoder's time by operator", TakesFile: true},
			&cli.StringFlag{Name: "peak-size", Value: bench.DefaultGEMMSize.String(), Usage: "the peak's matrix product `M,K,N`"},
		},
		Action: func(cCtx *cli.Context) error { return runBenchScorer(cCtx, resolve, refs.values) },
	}
}

// benchScorerFlags are the checked flags of bench scorer.
type benchScorerFlags struct {
	format  string
	lengths bench.Lengths
	device  onnxrt.Device
	tf32    bool
	gemm    bench.GEMMSize // --peak-size
	// precision is what the encoder must compute in ("" = unchecked).
	precision string
}

func checkBenchScorerFlags(cCtx *cli.Context, refFiles []string) (benchScorerFlags, error) {
	var f benchScorerFlags
	if cCtx.NArg() > 0 {
		return f, usagef("bench scorer: unexpected argument %q", cCtx.Args().First())
	}
	f.format = cCtx.String("format")
	if f.format != "text" && f.format != "json" {
		return f, usagef("bench scorer: unknown --format %q (want text or json)", f.format)
	}
	if (cCtx.String("cands") == "") != (len(refFiles) == 0) {
		return f, usagef("bench scorer: -c and -r go together (or neither: synthetic pairs)")
	}
	for _, name := range []string{"pairs", "batch-tokens", "runs"} {
		if cCtx.Int(name) < 1 {
			return f, usagef("bench scorer: --%s must be at least 1", name)
		}
	}
	for _, name := range []string{"threads", "warmup"} {
		if cCtx.Int(name) < 0 {
			return f, usagef("bench scorer: --%s must not be negative", name)
		}
	}
	if err := checkThreads("bench scorer", cCtx.Int("threads")); err != nil {
		return f, err
	}
	var err error
	if f.lengths, err = bench.ParseLengths(cCtx.String("lengths")); err != nil {
		return f, usagef("bench scorer: --lengths %v", err)
	}
	if f.device, err = onnxrt.ParseDevice(cCtx.String("device")); err != nil {
		return f, usagef("bench scorer: --device: %v", err)
	}
	if f.gemm, err = bench.ParseGEMMSize(cCtx.String("peak-size")); err != nil {
		return f, usagef("bench scorer: --peak-size %v", err)
	}
	if cCtx.Bool("peak") && f.device.Kind != onnxrt.CPU {
		return f, usagef("bench scorer: --peak measures the CPU's peak; it does not apply with --device %s", f.device)
	}
	f.tf32, f.precision, err = runtimePrecision("bench scorer", cCtx, f.device)
	return f, err
}

func runBenchScorer(cCtx *cli.Context, resolve scoreModelResolver, refFiles []string) error {
	f, err := checkBenchScorerFlags(cCtx, refFiles)
	if err != nil {
		return err
	}
	n := cCtx.Int("pairs")
	var cands []string
	var refs [][]string
	if c := cCtx.String("cands"); c != "" {
		if cands, refs, err = readScorePairs(scoreInputs{cands: c, refs: refFiles, stdin: cCtx.App.Reader}); err != nil {
			return err
		}
		if len(cands) == 0 {
			return usagef("bench scorer: %s has no lines: nothing to score", c)
		}
		if cCtx.IsSet("pairs") && n < len(cands) {
			cands, refs = cands[:n], refs[:n]
		}
	} else {
		cands, refs = bench.Synthetic(n, f.lengths, uint64(cCtx.Int("seed")))
	}
	model, err := resolve(cCtx, cCtx.String("model"), "")
	if err != nil {
		return asUsage(fmt.Errorf("bench scorer: %w", err))
	}
	opts := bench.Options{
		Model: model,
		Open: bertscore.Options{
			ORTLib: cCtx.String("ort-lib"), CUDAProvider: cCtx.String("cuda-ep"),
			Device: f.device, TF32: f.tf32, Threads: cCtx.Int("threads"),
		},
		Precision: f.precision,
		Scorer:    bertscore.ScorerOptions{BatchTokens: cCtx.Int("batch-tokens")},
		Cands:     cands, Refs: refs,
		Warmup: cCtx.Int("warmup"), Runs: cCtx.Int("runs"),
	}
	if cCtx.Bool("peak") {
		opts.Peak = &bench.PeakOptions{Size: f.gemm}
	}
	opts.Profile = cCtx.String("profile")
	bar := newProgressBar(cCtx.App.ErrWriter, len(cands)*(opts.Warmup+opts.Runs), progressMinPairs, "benchmarking", "pairs")
	if bar != nil {
		opts.Progress = func(done, _ int) { _ = bar.Set(done) }
	}
	res, err := bench.Run(cCtx.Context, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("bench scorer: interrupted")
	case errors.Is(err, bench.ErrInvalidInput) || bertscore.IsInputError(err):
		return asUsage(fmt.Errorf("bench scorer: %w", err))
	case err != nil:
		return fmt.Errorf("bench scorer: %w", err)
	}
	if f.format == "json" {
		return writeBenchJSON(cCtx.App.Writer, res)
	}
	return writeBenchText(cCtx.App.Writer, res)
}

// benchJSON is the object --format json prints: per-run means, seconds.
type benchJSON struct {
	Pairs             int     `json:"pairs"`
	Runs              int     `json:"runs"`
	Warmup            int     `json:"warmup"`
	PairsPerS         float64 `json:"pairs_per_s"`
	TokensPerS        float64 `json:"tokens_per_s"`
	Tokens            float64 `json:"tokens"`
	PaddingEfficiency float64 `json:"padding_efficiency"`
	BatchP50S         float64 `json:"batch_p50_s"`
	BatchP95S         float64 `json:"batch_p95_s"`
	TotalS            float64 `json:"total_s"`
	LoadS             float64 `json:"load_s"`
	TokenizeS         float64 `json:"tokenize_s"`
	EncodeS           float64 `json:"encode_s"`
	MatchS            float64 `json:"match_s"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	Model             string  `json:"model"`
	Device            string  `json:"device"`
	Precision         string  `json:"precision"`
	GFLOPPerToken     float64 `json:"gflop_per_token"`
	EncoderGFLOPS     float64 `json:"encoder_gflops"`
	// With --peak only.
	PeakGFLOPS        float64 `json:"peak_gflops,omitempty"`
	PeakMedianGFLOPS  float64 `json:"peak_median_gflops,omitempty"`
	PeakPrecision     string  `json:"peak_precision,omitempty"`
	FractionOfPeak    float64 `json:"fraction_of_peak,omitempty"`
	TheoreticalGFLOPS float64 `json:"theoretical_gflops,omitempty"`
	CPU               string  `json:"cpu,omitempty"`
	// With --profile only.
	Profile *bench.Profile `json:"profile,omitempty"`
}

func benchObject(r *bench.Result) benchJSON {
	s := r.Sum()
	k := float64(len(r.Runs))
	o := benchJSON{
		Pairs: r.Pairs, Runs: len(r.Runs), Warmup: r.Warmup,
		PairsPerS: r.PairsPerSecond(), TokensPerS: r.TokensPerSecond(),
		Tokens:            float64(s.Tokens) / k,
		PaddingEfficiency: r.PaddingEfficiency(),
		BatchP50S:         r.BatchPercentile(0.5).Seconds(),
		BatchP95S:         r.BatchPercentile(0.95).Seconds(),
		TotalS:            s.Total.Seconds() / k,
		LoadS:             r.Load.Seconds(),
		TokenizeS:         s.Tokenize.Seconds() / k,
		EncodeS:           s.Encode.Seconds() / k,
		MatchS:            s.Match.Seconds() / k,
		PeakRSSBytes:      r.PeakRSSBytes,
		GFLOPPerToken:     r.FLOPsPerToken() / 1e9,
		EncoderGFLOPS:     r.EncoderGFLOPS(),
		Model:             r.Model, Device: r.Device, Precision: r.Precision,
		Profile: r.Profile,
	}
	if p := r.Peak; p != nil {
		o.PeakGFLOPS, o.PeakPrecision, o.FractionOfPeak, o.CPU = p.GOPS(), p.Precision, r.FractionOfPeak(), r.CPU.Model
		o.PeakMedianGFLOPS, o.TheoreticalGFLOPS = p.MedianGOPS(), r.CPU.FP32GFLOPS()
		if p.Precision == bench.PeakInt8 {
			o.TheoreticalGFLOPS = r.CPU.Int8GOPS()
		}
	}
	return o
}

func writeBenchJSON(w io.Writer, r *bench.Result) error {
	b, err := json.Marshal(benchObject(r))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func writeBenchText(w io.Writer, r *bench.Result) error {
	o := benchObject(r)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rows := [][2]string{
		{"model", fmt.Sprintf("%s on %s, %s", o.Model, o.Device, o.Precision)},
		{"pairs", fmt.Sprintf("%d × %d runs (after %d warm-up)", o.Pairs, o.Runs, o.Warmup)},
		{"pairs/s", fmt.Sprintf("%.1f", o.PairsPerS)},
		{"tokens/s", fmt.Sprintf("%.0f (%.0f tokens encoded a run)", o.TokensPerS, o.Tokens)},
		{"padding efficiency", fmt.Sprintf("%.1f%%", 100*o.PaddingEfficiency)},
		{"batch latency", fmt.Sprintf("p50 %s, p95 %s", ms(o.BatchP50S), ms(o.BatchP95S))},
		{"run time", fmt.Sprintf("%s: tokenize %s, encode %s, match %s", ms(o.TotalS), ms(o.TokenizeS), ms(o.EncodeS), ms(o.MatchS))},
		{"model load", ms(o.LoadS)},
		{"peak RSS", rssText(o.PeakRSSBytes)},
		{"encoder arithmetic", fmt.Sprintf("%.1f GFLOP/s (%.3f GFLOP a token)", o.EncoderGFLOPS, o.GFLOPPerToken)},
	}
	if o.PeakGFLOPS > 0 {
		rows = append(rows, [2]string{"peak", fmt.Sprintf("%s practical (%s MatMul), %.1f theoretical (an estimate); the encoder at %.1f%% of the practical peak",
			peakRate(o.PeakGFLOPS, o.PeakPrecision), o.PeakPrecision, o.TheoreticalGFLOPS, 100*o.FractionOfPeak)})
	}
	if p := o.Profile; p != nil {
		var ops []string
		for _, op := range p.Ops[:min(len(p.Ops), 8)] {
			ops = append(ops, fmt.Sprintf("%s %.1f%%", op.Op, 100*op.Share))
		}
		rows = append(rows, [2]string{"encoder by operator", strings.Join(ops, ", ") + " (" + p.File + ")"})
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func ms(s float64) string { return fmt.Sprintf("%.1f ms", 1000*s) }

func rssText(b int64) string {
	if b == 0 {
		return "not known"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

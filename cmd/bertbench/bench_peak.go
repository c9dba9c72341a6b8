package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/onnxrt"
)

func benchPeakCommand() *cli.Command {
	return &cli.Command{
		Name:      "peak",
		Usage:     "measure the CPU's practical matrix-product peak through ONNX Runtime, beside the theoretical one",
		UsageText: "bertbench bench peak [--precision fp32|int8] [--size M,K,N] [--threads N] [--spinning] [--min-time D] [--format text|json]",
		Description: `Builds a graph of one matrix product with bertbench's own ONNX writer,
[M,K] × [K,N] with the right-hand side a constant weight as in an
encoder: MatMul in float32 for --precision fp32, MatMulInteger of uint8 by
int8 into int32 for int8 (the product the int8 encoder runs after
DynamicQuantizeLinear). It runs it through ONNX Runtime on the CPU with
the encoder's session settings (--threads intra-op threads, one inter-op
thread, idle threads sleeping unless --spinning), twice unmeasured, then
for --min-time and at least 3 runs, and checks a few elements of the
product. The practical peak is the best run's 2·M·K·N / time.

The theoretical peak is an estimate: the cores used (--threads, at most
the CPUs the process may use) × the clock (cpufreq's maximum, else
/proc/cpuinfo's cpu MHz: a VM reports its nominal clock) × FLOPs a cycle
from the CPU's flags, assuming two FMA pipes: avx512f 2 × 16 × 2 = 64
fp32, avx2 with fma 32; int8 4× that with VNNI, 2× without.

--format json prints one object: precision, size, threads, runs,
best_s, median_s, peak_gflops (the best run; GOP/s for int8),
median_gflops, theoretical_gflops, cpu, isa, mhz, cores.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "precision", Value: bench.PeakFP32, Usage: "the product's arithmetic `P`: fp32 or int8"},
			&cli.StringFlag{Name: "size", Value: bench.DefaultGEMMSize.String(), Usage: "the product's shape `M,K,N`"},
			&cli.IntFlag{Name: "threads", Usage: "`N` intra-op threads (0 = every core)"},
			&cli.BoolFlag{Name: "spinning", Usage: "let idle ONNX Runtime threads spin between runs"},
			&cli.DurationFlag{Name: "min-time", Value: 2 * time.Second, Usage: "measure for at least `D`"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output `FORMAT`: text or json"},
		},
		Action: runBenchPeak,
	}
}

// peakJSON is the object bench peak --format json prints.
type peakJSON struct {
	Precision         string  `json:"precision"`
	Size              string  `json:"size"`
	Threads           int     `json:"threads"`
	Runs              int     `json:"runs"`
	BestS             float64 `json:"best_s"`
	MedianS           float64 `json:"median_s"`
	PeakGFLOPS        float64 `json:"peak_gflops"`
	MedianGFLOPS      float64 `json:"median_gflops"`
	TheoreticalGFLOPS float64 `json:"theoretical_gflops"`
	CPU               string  `json:"cpu"`
	ISA               string  `json:"isa"`
	MHz               float64 `json:"mhz"`
	Cores             int     `json:"cores"`
}

func runBenchPeak(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("bench peak: unexpected argument %q", c.Args().First())
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usagef("bench peak: unknown --format %q (want text or json)", format)
	}
	prec := c.String("precision")
	if prec != bench.PeakFP32 && prec != bench.PeakInt8 {
		return usagef("bench peak: unknown --precision %q (want fp32 or int8)", prec)
	}
	size, err := bench.ParseGEMMSize(c.String("size"))
	if err != nil {
		return usagef("bench peak: --size %v", err)
	}
	threads := c.Int("threads")
	if threads < 0 {
		return usagef("bench peak: --threads must not be negative")
	}
	if err := checkThreads("bench peak", threads); err != nil {
		return err
	}
	if c.Duration("min-time") < 0 {
		return usagef("bench peak: --min-time must not be negative")
	}
	rt, err := onnxrt.Load(c.String("ort-lib"))
	if err != nil {
		return fmt.Errorf("bench peak: %w", err)
	}
	p, err := bench.MeasurePeak(c.Context, bench.PeakOptions{Runtime: rt, Precision: prec, Size: size, Threads: threads,
		Spinning: c.Bool("spinning"), MinTime: c.Duration("min-time")})
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("bench peak: interrupted")
	case err != nil:
		return err
	}
	cores := cpus.Usable()
	if threads > 0 {
		cores = min(threads, cores)
	}
	cpu, err := bench.ReadCPUPeak(bench.HostFS(), cores)
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "bertbench: bench peak: no theoretical peak: %v\n", err)
	}
	o := peakJSON{
		Precision: p.Precision, Size: p.Size.String(), Threads: threads, Runs: len(p.Runs),
		BestS: p.Runs[0].Seconds(), MedianS: bench.Percentile(p.Runs, 0.5).Seconds(),
		PeakGFLOPS: p.GOPS(), MedianGFLOPS: p.MedianGOPS(), TheoreticalGFLOPS: cpu.FP32GFLOPS(),
		CPU: cpu.Model, ISA: cpu.ISA, MHz: cpu.MHz, Cores: cpu.Cores,
	}
	if prec == bench.PeakInt8 {
		o.TheoreticalGFLOPS = cpu.Int8GOPS()
	}
	if format == "json" {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
		return err
	}
	return writePeakText(c.App.Writer, o)
}

// peakRate formats a rate as GFLOP/s (fp32) or GOP/s (int8).
func peakRate(v float64, precision string) string {
	if precision == bench.PeakInt8 {
		return fmt.Sprintf("%.1f GOP/s", v)
	}
	return fmt.Sprintf("%.1f GFLOP/s", v)
}

func writePeakText(w io.Writer, o peakJSON) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	share := 0.0
	if o.TheoreticalGFLOPS > 0 {
		share = 100 * o.PeakGFLOPS / o.TheoreticalGFLOPS
	}
	rows := [][2]string{
		{"product", fmt.Sprintf("%s [%s], %d threads (0 = every core), %d runs", o.Precision, o.Size, o.Threads, o.Runs)},
		{"practical peak", fmt.Sprintf("%s (best run %s; median %s)", peakRate(o.PeakGFLOPS, o.Precision), ms(o.BestS), peakRate(o.MedianGFLOPS, o.Precision))},
		{"theoretical", fmt.Sprintf("%s, an estimate: %d cores × %.0f MHz × %s (%.0f%% reached)", peakRate(o.TheoreticalGFLOPS, o.Precision), o.Cores, o.MHz, o.ISA, share)},
		{"cpu", o.CPU},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

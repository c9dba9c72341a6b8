package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/gate"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/report"
)

// reportOutput is how a command writes a comparison: the format, the
// file ("" or "-": standard output) and the thresholds to check.
type reportOutput struct {
	format     string
	output     string
	thresholds []gate.Threshold
}

// reportFlags are --format and --output, shared by compare and report.
func reportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: report.FormatText, Usage: "output `FORMAT`: " + report.FormatList()},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, TakesFile: true, Usage: "write the report to `FILE` (default: standard output; a file is replaced only once complete)"},
	}
}

// reportOutputFlags reads the format, output and gate flags of command
// name; an unknown format or an output path that cannot be written is a
// usage error, found before any work.
func reportOutputFlags(c *cli.Context, name string) (reportOutput, error) {
	o := reportOutput{format: c.String("format"), output: c.String("output")}
	if !slices.Contains(report.Formats, o.format) {
		return o, usagef("%s: invalid value %q for --format: want %s", name, o.format, report.FormatList())
	}
	if o.output != "" && o.output != "-" {
		if err := outfile.Check(o.output); err != nil {
			return o, usagef("%s: -o: %v", name, err)
		}
	}
	ts, err := gateThresholds(c, name)
	if err != nil {
		return o, err
	}
	o.thresholds = ts
	return o, nil
}

// toStdout reports whether the report goes to standard output.
func (o reportOutput) toStdout() bool { return o.output == "" || o.output == "-" }

// writeReport checks the thresholds on c, writes the report (with the
// thresholds' results in it, for text, Markdown and HTML) and returns a
// gateFailure when a threshold failed, after the report was written. The
// ✓/✗ lines go to stderr too, unless the text report on stdout holds them,
// so stdout stays the report alone.
func writeReport(name string, c *compare.Comparison, o reportOutput, stdout, stderr io.Writer) error {
	rs, err := evaluateGates(name, c, o.thresholds)
	if err != nil {
		return err
	}
	rep, err := report.New(o.format, c, report.WithGates(rs))
	if err != nil {
		return asUsage(fmt.Errorf("%s: %w", name, err))
	}
	if o.toStdout() {
		if err := rep(stdout); err != nil {
			return fmt.Errorf("%s: writing the report: %w", name, err)
		}
	} else {
		f, err := outfile.Create(o.output, 0o644)
		if err != nil {
			return asUsage(fmt.Errorf("%s: -o: %w", name, err))
		}
		defer f.Close()
		if err := rep(f); err != nil {
			return fmt.Errorf("%s: writing %s: %w", name, o.output, err)
		}
		if err := f.Commit(); err != nil {
			return fmt.Errorf("%s: writing %s: %w", name, o.output, err)
		}
	}
	if !(o.format == report.FormatText && o.toStdout()) {
		printGates(stderr, rs)
	}
	return gateOutcome(name, rs)
}

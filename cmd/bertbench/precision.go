package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/modelspec"
)

// precisionBounds states each build precision's declared fidelity, for
// help texts.
var precisionBounds = fmt.Sprintf("fp32 (the reference arithmetic), fp16 (for --device cuda: |ΔP|, |ΔR|, |ΔF| <= %s against fp32) or int8 (for the CPU: the encoder layers' weight products dynamically quantised, about 2x faster, |ΔP|, |ΔR|, |ΔF| <= %s against fp32)",
	shortFloat(modelspec.BoundFP16), shortFloat(modelspec.BoundINT8))

// shortFloat writes a bound as 1e-3, 5e-3.
func shortFloat(v float64) string {
	return strings.Replace(fmt.Sprintf("%.0e", v), "e-0", "e-", 1)
}

// newBuildPrecisionFlags are the --precision flag of the commands that
// build an encoder, and --fp16, hidden: the old spelling of --precision
// fp16, still accepted.
func newBuildPrecisionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "precision", Value: string(modelspec.FP32), Usage: "build the encoder in precision `P`: " + precisionBounds + "; the name gets -fp16 or -int8"},
		&cli.BoolFlag{Name: "fp16", Usage: "same as --precision fp16", Hidden: true},
	}
}

// buildPrecision reads --precision (and --fp16) for command.
func buildPrecision(c *cli.Context, command string) (modelspec.Precision, error) {
	p, err := modelspec.ParsePrecision(c.String("precision"))
	if err != nil {
		return "", usagef("%s: --precision: %v", command, err)
	}
	if c.Bool("fp16") {
		if c.IsSet("precision") && p != modelspec.FP16 {
			return "", usagef("%s: --fp16 and --precision %s disagree (--fp16 is the old spelling of --precision fp16: give one)", command, p)
		}
		p = modelspec.FP16
	}
	return p, nil
}

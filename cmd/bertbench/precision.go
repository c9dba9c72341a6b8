package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
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

// runtimePrecisionList is the --precision values of score and bench
// scorer: "fp32, tf32, fp16 or int8".
func runtimePrecisionList() string {
	ps := modelspec.RuntimePrecisions()
	return strings.Join(ps[:len(ps)-1], ", ") + " or " + ps[len(ps)-1]
}

// runtimePrecisionUsage is the --precision flag's help of score and bench
// scorer.
func runtimePrecisionUsage() string {
	return "check that the encoder computes in `P`: fp32, fp16 or int8 (the model's build precision: another is refused), or tf32 (an fp32 model with TF32 products, --device cuda only; the same as --tf32); default: the model's, unchecked"
}

// runtimePrecision reads --precision of score and bench scorer (and
// --tf32, where the command has it) for the device dev: tf32 says whether
// CUDA computes float32 products in TF32, want is the precision the
// encoder must compute in ("" = the model's, unchecked; "fp32+tf32" for
// tf32), for bertscore.Options.Precision.
func runtimePrecision(command string, cCtx *cli.Context, dev onnxrt.Device) (tf32 bool, want string, err error) {
	tf32 = cCtx.Bool("tf32")
	p := cCtx.String("precision")
	if p == "" {
		return tf32, "", nil
	}
	if tf32 && p != modelspec.TF32 {
		return false, "", usagef("%s: --tf32 and --precision %s disagree (--tf32 is --precision tf32: give one)", command, p)
	}
	if p == modelspec.TF32 {
		if dev.Kind != onnxrt.CUDA {
			return false, "", usagef("%s: --precision tf32 only applies with --device cuda (the CPU computes in strict float32)", command)
		}
		return true, string(modelspec.FP32) + modelspec.TF32Suffix, nil
	}
	if _, err := modelspec.ParsePrecision(p); err != nil {
		return false, "", usagef("%s: unknown --precision %q (want %s)", command, p, runtimePrecisionList())
	}
	return false, p, nil
}

package modelspec

import (
	"errors"
	"fmt"
	"strings"
)

// Precision is the arithmetic an encoder is built for: how its weights are
// stored and its matrix products computed. It is chosen when the model is
// built (`models import|pull|synth --precision`), recorded in the
// manifest, and read back from the graph's weights by the runtime. TF32 is
// not a build precision: it is a runtime choice on CUDA, and a run's
// precision then reads "fp32+tf32".
type Precision string

// The build precisions.
const (
	// FP32 stores weights and computes in float32: the reference
	// arithmetic, every other precision is measured against it.
	FP32 Precision = "fp32"
	// FP16 stores weights and computes in float16 (for GPUs: ONNX
	// Runtime's CPU provider runs it too, slowly); the output is cast back
	// to float32.
	FP16 Precision = "fp16"
	// INT8 stores the encoder layers' weight matrices (query, key, value,
	// attention output, the two feed-forward layers) as int8 with one
	// scale per output column, and multiplies them with the activations
	// quantised to uint8 on the fly (dynamic quantisation: a scale and
	// zero point per matrix product, from its input's range); everything
	// else (embeddings, layer norms, attention scores, softmax, GELU) stays
	// float32. For the CPU.
	INT8 Precision = "int8"
)

// TF32Suffix is what a run's precision gets when CUDA computes an FP32
// model's float32 products in TF32 (a runtime choice): "fp32+tf32".
const TF32Suffix = "+tf32"

// TF32 is the runtime precision value (score and bench scorer's
// --precision tf32) that means an FP32 model run with TF32 on CUDA.
const TF32 = "tf32"

// RuntimePrecisions lists what a run may ask the encoder to compute in:
// the build precisions, and TF32 after FP32.
func RuntimePrecisions() []string {
	var out []string
	for _, p := range Precisions {
		out = append(out, string(p))
		if p == FP32 {
			out = append(out, TF32)
		}
	}
	return out
}

// Precisions lists the build precisions, FP32 (the default) first.
var Precisions = []Precision{FP32, FP16, INT8}

// The declared fidelity of each precision: the largest |ΔP|, |ΔR| and |ΔF|
// (each of the three, per pair, unrescaled) allowed against the same
// model built in FP32, measured on the test fixtures and on an mBERT-size
// model (docs/precision.md has the measurements). Tests assert them; the
// CLI's help and the docs state them.
const (
	// BoundFP32 is the scorer's parity bound: fp32 against the reference
	// implementation, and across devices.
	BoundFP32 = 1e-5
	// BoundFP16 is float16's bound.
	BoundFP16 = 1e-3
	// BoundINT8 is dynamic int8 quantisation's bound.
	BoundINT8 = 5e-3
)

// ParsePrecision reads a --precision value of a build ("" is FP32).
func ParsePrecision(s string) (Precision, error) {
	if s == "" {
		return FP32, nil
	}
	for _, p := range Precisions {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown precision %q (want %s)", s, PrecisionList())
}

// PrecisionList is the build precisions as "fp32, fp16 or int8".
func PrecisionList() string {
	names := make([]string, len(Precisions))
	for i, p := range Precisions {
		names[i] = string(p)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Bound is p's declared largest |ΔP|, |ΔR|, |ΔF| against FP32 (0 for an
// unknown precision).
func (p Precision) Bound() float64 {
	switch p {
	case FP32:
		return BoundFP32
	case FP16:
		return BoundFP16
	case INT8:
		return BoundINT8
	}
	return 0
}

// Suffix is what a model's name gets for p ("-fp16", "-int8"; "" for FP32),
// so results of two precisions never share a name.
func (p Precision) Suffix() string {
	if p == FP32 || p == "" {
		return ""
	}
	return "-" + string(p)
}

// Name is name with p's suffix, unless name already ends with it:
// "mymodel" becomes "mymodel-int8" in INT8, "mymodel-int8" stays.
func (p Precision) Name(name string) string {
	if strings.HasSuffix(name, p.Suffix()) {
		return name
	}
	return name + p.Suffix()
}

// TrimPrecisionSuffix drops a build precision's suffix ("-fp16",
// "-int8") from a model name, leaving what its fp32 build is named (the
// baselines are the fp32 model's).
func TrimPrecisionSuffix(name string) string {
	for _, p := range Precisions {
		if sfx := p.Suffix(); sfx != "" && strings.HasSuffix(name, sfx) {
			return strings.TrimSuffix(name, sfx)
		}
	}
	return name
}

// CheckCUDA says why an encoder of precision p cannot run on CUDA, nil
// when it can: int8 runs on the CPU only (ONNX Runtime's CUDA provider
// lacks the u8 x s8 products: they would run on
// the CPU between copies). The runtime refuses to open such an encoder on
// CUDA, and a plan for CUDA refuses such a model, with this error.
func (p Precision) CheckCUDA() error {
	if p == INT8 {
		return errors.New("int8 models run on the CPU (--device cpu); for CUDA build the model with --precision fp16 or fp32")
	}
	return nil
}

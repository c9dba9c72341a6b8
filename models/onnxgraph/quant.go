package onnxgraph

import (
	"fmt"
	"math"

	"github.com/bertbench/bertbench/models/onnxpb"
)

// quantizedLinear adds x @ W^T + b for the checkpoint's Linear layer key
// with W quantised to int8 (symmetric, one scale per output column, see
// quantizeColumns) and x quantised to uint8 one row (token) at a time
// (quantizeRows):
//
//	xq, xs, one = quantizeRows(x)                    // uint8, zero point 128; xs [.., 1]
//	y = Cast(MatMulInteger(xq, Wq, 128), float) * (one * Ws) * xs + b
//
// One scale a token, not one over the tensor as DynamicQuantizeLinear
// has: a sentence's scores then depend on its own tokens only, never on
// the others that share its batch or on padding, so the same hash means
// the same scores however a run is batched or sharded. ONNX Runtime fuses
// MatMulInteger, Cast and the Mul by (a_scale * b_scale) into
// MatMulIntegerToFloat, whose uint8 x int8 kernels are its fastest on
// x86, but that op takes only a scalar activation scale: so the fused
// Mul's a_scale is "one", a runtime scalar that is exactly 1 (m / m, see
// quantizeRows; a constant 1 would be folded away and the fusion lost),
// its b_scale the column scales, and the row scales multiply after it.
// The quantised x serves every product of the same x (query, key and
// value).
func (b *builder) quantizedLinear(x, key string, in, out int64) string {
	wq, ws := b.quantWeight(key+".weight", in, out)
	bias := b.weight(key+".bias", []int64{out}, false, -1)
	q, ok := b.quantized[x]
	if !ok {
		q = b.quantizeRows(x)
		b.quantized[x] = q
	}
	y := b.op("MatMulInteger", []string{q[0], wq, q[2]})
	y = b.op("Cast", []string{y}, onnxpb.IntAttr("to", int64(onnxpb.Float)))
	y = b.op("Mul", []string{y, b.op("Mul", []string{q[3], ws})})
	y = b.op("Mul", []string{y, q[1]})
	return b.op("Add", []string{y, bias})
}

// actZeroPoint is the uint8 activations' zero point: they are symmetric,
// -127..127 stored as 1..255.
const actZeroPoint = 128

// quantizeRows adds the symmetric per-row quantisation of the float x
// ([..., H]) over its last axis:
//
//	m   = max(max |x| over H, 2⁻¹⁰⁰)                 // [..., 1]; an all-zero row quantises to 0
//	xs  = m / 127                                    // the row scale
//	xq  = Cast(x * (127 / m) + 128.5, uint8)         // round(x / xs) + 128, in 1..255
//	one = max(m) / max(m)                            // exactly 1 (m > 0, finite)
//
// (Cast truncates, so adding 128.5 rounds half up; |x * 127/m| <= 127
// within a rounding error, so nothing needs clipping.) It returns xq, xs,
// the zero point (a uint8 scalar constant 128: the form every
// MatMulInteger kernel takes, ONNX Runtime's refuses a per-row zero point,
// so the rows share it and differ only in scale) and one.
func (b *builder) quantizeRows(x string) [4]string {
	c := b.quantConsts
	if c == nil {
		base := b.name("act_quant")
		c = &quantConsts{
			levels:    b.floatConst(base+"_127", nil, actLevels),
			minMax:    b.floatConst(base+"_min", nil, activationFloor),
			offset:    b.floatConst(base+"_offset", nil, actZeroPoint+0.5),
			zeroPoint: base + "_zero_point",
		}
		b.g.Initializers = append(b.g.Initializers, &onnxpb.Tensor{Name: c.zeroPoint, DataType: onnxpb.Uint8, Raw: []byte{actZeroPoint}})
		b.quantConsts = c
	}
	maxAbs := b.op("ReduceMax", []string{b.op("Abs", []string{x})}, onnxpb.IntsAttr("axes", -1), onnxpb.IntAttr("keepdims", 1))
	maxAbs = b.op("Max", []string{maxAbs, c.minMax})
	scale := b.op("Div", []string{maxAbs, c.levels})
	inv := b.op("Div", []string{c.levels, maxAbs})
	v := b.op("Add", []string{b.op("Mul", []string{x, inv}), c.offset})
	q := b.op("Cast", []string{v}, onnxpb.IntAttr("to", int64(onnxpb.Uint8)))
	top := b.op("ReduceMax", []string{maxAbs}, onnxpb.IntAttr("keepdims", 0))
	one := b.op("Div", []string{top, top})
	return [4]string{q, scale, c.zeroPoint, one}
}

// actLevels is the largest |value| of a quantised activation.
const actLevels = 127

// activationFloor is the least max |x| a token's scale is computed from:
// small enough to leave every real activation its own scale, large enough
// that 127 / activationFloor is a finite float32 (FLT_MIN, 2⁻¹²⁶, would
// overflow it to Inf, and an all-zero row would then quantise 0 × Inf =
// NaN).
const activationFloor = 0x1p-100

// quantConsts names quantizeRows' constant initializers.
type quantConsts struct {
	levels, minMax, offset string // float32 127, activationFloor, 128.5
	zeroPoint              string // uint8 128
}

// quantWeight adds the checkpoint's [out, in] Linear weight key as an int8
// [in, out] initializer and its float32 scales ([out], one a column) as
// another; both are computed once, when the first of the two is written.
// (One scale a column, not one a matrix: the worst of |ΔP|, |ΔR|, |ΔF|
// against fp32 on the fixtures was 1.4e-3 against 1.8e-3, at the same
// speed.)
func (b *builder) quantWeight(key string, in, out int64) (wq, ws string) {
	wq, ws = key+"_quantized", key+"_scale"
	full, ok := b.lookup(b.prefix + key)
	if !ok {
		b.missing = append(b.missing, b.prefix+key)
		return wq, ws
	}
	info, _ := b.w.Info(full)
	if src := info.Shape; len(src) != 2 || src[0] != out || src[1] != in {
		b.wrongShape = append(b.wrongShape, fmt.Sprintf("%s has shape %v, want [%d %d]", full, src, out, in))
	}
	w := b.w
	var q, s []byte
	quantize := func() error {
		if q != nil {
			return nil
		}
		vals, info, err := w.Float32(full)
		if err != nil {
			return err
		}
		q, s, err = quantizeColumns(transpose2D(vals, int(info.Shape[0]), int(info.Shape[1])), int(in), int(out))
		if err != nil {
			return fmt.Errorf("weight %s (transposed to [in, out]): %w", full, err)
		}
		return nil
	}
	b.g.Initializers = append(b.g.Initializers,
		&onnxpb.Tensor{Name: wq, DataType: onnxpb.Int8, Dims: []int64{in, out}, Load: func() ([]byte, error) {
			if err := quantize(); err != nil {
				return nil, err
			}
			data := q
			q = []byte{} // written: only the scales are kept
			return data, nil
		}},
		&onnxpb.Tensor{Name: ws, DataType: onnxpb.Float, Dims: []int64{out}, Load: func() ([]byte, error) {
			if err := quantize(); err != nil {
				return nil, err
			}
			return s, nil
		}},
	)
	return wq, ws
}

// weightLevels is the largest |value| of a quantised weight: 7 bits, not
// 8, so that a pair of uint8 x int8 products (2 * 255 * 63 = 32130) fits
// int16 and AVX2's vpmaddubsw, which saturates pair sums at int16 on CPUs
// without VNNI, sums exactly as the VNNI kernels do (ONNX Runtime's own
// quantiser calls this reduce_range). The integer sums, and so the scores,
// are then the same on every x86 CPU.
const weightLevels = 63

// quantizeColumns quantises the row-major [rows, cols] matrix m to int8,
// symmetric (zero point 0, values -weightLevels..weightLevels), with one
// scale per column (max |m[:, c]| / weightLevels as a float32; 1 for a
// zero column, or one so small the scale underflows to 0, whose values
// all quantise to 0); it returns the int8 values and the float32 scales,
// little-endian. A NaN or infinite value is an error.
func quantizeColumns(m []float32, rows, cols int) (q, scales []byte, err error) {
	maxAbs := make([]float64, cols)
	for r := range rows {
		for c, v := range m[r*cols : (r+1)*cols] {
			a := math.Abs(float64(v))
			if math.IsNaN(a) || math.IsInf(a, 0) {
				return nil, nil, fmt.Errorf("row %d, column %d is %v: int8 needs finite weights", r, c, v)
			}
			maxAbs[c] = math.Max(maxAbs[c], a)
		}
	}
	scale := make([]float32, len(maxAbs))
	for c, a := range maxAbs {
		scale[c] = float32(a / weightLevels)
		if scale[c] == 0 {
			scale[c] = 1
		}
	}
	q = make([]byte, len(m))
	for r := range rows {
		for c, v := range m[r*cols : (r+1)*cols] {
			x := math.Round(float64(v) / float64(scale[c]))
			x = math.Max(-weightLevels, math.Min(weightLevels, x))
			q[r*cols+c] = byte(int8(x))
		}
	}
	return q, encodeFloats(scale, onnxpb.Float), nil
}

package onnxgraph

import (
	"fmt"
	"math"

	"github.com/bertbench/bertbench/models/onnxpb"
)

// quantizedLinear adds x @ W^T + b for the checkpoint's Linear layer key
// with W quantised to int8 (symmetric, one scale per output column) and x
// quantised to uint8 as it comes (DynamicQuantizeLinear: a scale and zero
// point over the whole tensor):
//
//	xq, xs, xz = DynamicQuantizeLinear(x)
//	y = Cast(MatMulInteger(xq, Wq, xz), float) * (xs * Ws) + b
//
// the pattern ONNX Runtime fuses into DynamicQuantizeMatMul, or
// MatMulIntegerToFloat after a shared DynamicQuantizeLinear (com.microsoft
// ops), whose uint8 x int8 kernels are its fastest on x86. One
// DynamicQuantizeLinear serves every product of the same x (query, key
// and value).
func (b *builder) quantizedLinear(x, key string, in, out int64) string {
	wq, ws := b.quantWeight(key+".weight", in, out)
	bias := b.weight(key+".bias", []int64{out}, false, -1)
	q, ok := b.quantized[x]
	if !ok {
		base := b.name("DynamicQuantizeLinear")
		q = [3]string{base + "_q", base + "_scale", base + "_zero"}
		b.g.Nodes = append(b.g.Nodes, onnxpb.Node{
			Name: base + "_node", OpType: "DynamicQuantizeLinear", Inputs: []string{x}, Outputs: q[:],
		})
		b.quantized[x] = q
	}
	y := b.op("MatMulInteger", []string{q[0], wq, q[2]})
	y = b.op("Cast", []string{y}, onnxpb.IntAttr("to", int64(onnxpb.Float)))
	y = b.op("Mul", []string{y, b.op("Mul", []string{q[1], ws})})
	return b.op("Add", []string{y, bias})
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
		q, s = quantizeColumns(transpose2D(vals, int(info.Shape[0]), int(info.Shape[1])), int(in), int(out))
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

// quantizeColumns quantises the row-major [rows, cols] matrix m to int8,
// symmetric (zero point 0, values -127..127), with one scale per column
// (max |m[:, c]| / 127, 1 for a zero column); it returns the int8 values
// and the float32 scales, little-endian.
func quantizeColumns(m []float32, rows, cols int) (q, scales []byte) {
	maxAbs := make([]float64, cols)
	for r := range rows {
		for c, v := range m[r*cols : (r+1)*cols] {
			maxAbs[c] = math.Max(maxAbs[c], math.Abs(float64(v)))
		}
	}
	scale := make([]float32, len(maxAbs))
	for c, a := range maxAbs {
		scale[c] = float32(a / 127)
		if a == 0 {
			scale[c] = 1
		}
	}
	q = make([]byte, len(m))
	for r := range rows {
		for c, v := range m[r*cols : (r+1)*cols] {
			x := math.Round(float64(v) / float64(scale[c]))
			x = math.Max(-127, math.Min(127, x))
			q[r*cols+c] = byte(int8(x))
		}
	}
	return q, encodeFloats(scale, onnxpb.Float)
}

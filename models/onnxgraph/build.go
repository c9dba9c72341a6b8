package onnxgraph

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/x448/float16"

	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/modelspec"
)

// Names of the graph's inputs and output.
const (
	InputIDs        = "input_ids"
	AttentionMask   = "attention_mask"
	TokenTypeIDs    = "token_type_ids"
	LastHiddenState = "last_hidden_state"
)

// Opset is the ONNX opset the graph is written for (see the package doc).
const Opset = 12

// maskValue is added to attention scores at padded positions.
const maskValue = -10000

// Weights is where the builder reads tensors from (a safetensors
// checkpoint).
type Weights interface {
	Info(name string) (safetensors.Info, bool)
	Float32(name string) ([]float32, safetensors.Info, error)
}

// RawWeights is implemented by weight sources that can hand out a tensor's
// stored bytes; float32 tensors copied unchanged are then not converted.
type RawWeights interface {
	Raw(name string) ([]byte, safetensors.Info, error)
}

// Options chooses how the encoder is cut and stored.
type Options struct {
	// Layer is how many encoder layers to keep: the output is the hidden
	// state after layer Layer (0 = the embedding output).
	Layer int
	// Precision is how weights are stored and products computed (""
	// is modelspec.FP32). modelspec.FP16 stores every weight and computes
	// in float16; inputs stay int64 and the output is cast back to
	// float32. modelspec.INT8 quantises the encoder layers' weight
	// matrices (see quantizedLinear); the rest stays float32.
	Precision modelspec.Precision
	// Producer is written as the model's producer_version.
	Producer string
}

// Build writes the encoder graph for cfg with weights from w. The returned
// model's initializers load their data from w lazily, while the model is
// written, so w must stay open until then.
func Build(cfg *Config, w Weights, opts Options) (*onnxpb.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Layer < 0 || opts.Layer > cfg.NumHiddenLayers {
		return nil, fmt.Errorf("layer %d out of range: the checkpoint has layers 0..%d (0 = embedding output)", opts.Layer, cfg.NumHiddenLayers)
	}
	b := &builder{cfg: cfg, w: w, opts: opts, elem: onnxpb.Float, quantized: map[string][3]string{}}
	switch opts.Precision {
	case "", modelspec.FP32, modelspec.INT8:
	case modelspec.FP16:
		b.elem = onnxpb.Float16
	default:
		return nil, fmt.Errorf("precision %q: want %s", opts.Precision, modelspec.PrecisionList())
	}
	b.prefix = b.findPrefix()
	if err := b.build(); err != nil {
		return nil, err
	}
	if len(b.missing) > 0 {
		return nil, fmt.Errorf("checkpoint lacks %d tensor(s) a %s encoder needs, e.g. %s (is this a %s checkpoint?)", len(b.missing), cfg.Arch(), strings.Join(b.missing[:min(3, len(b.missing))], ", "), cfg.ModelType)
	}
	if len(b.wrongShape) > 0 {
		return nil, fmt.Errorf("checkpoint tensors do not match config.json: %s", strings.Join(b.wrongShape[:min(3, len(b.wrongShape))], "; "))
	}
	meta := map[string]string{
		"bertbench.architecture": cfg.Arch(),
		"bertbench.layer":        strconv.Itoa(opts.Layer),
		"bertbench.total_layers": strconv.Itoa(cfg.NumHiddenLayers),
	}
	if p := cmp.Or(opts.Precision, modelspec.FP32); p != modelspec.FP32 {
		// (not written for fp32, whose files stay byte for byte as before)
		meta["bertbench.precision"] = string(p)
	}
	return &onnxpb.Model{
		IRVersion:       7,
		Opsets:          []onnxpb.Opset{{Domain: "", Version: Opset}},
		ProducerName:    "bertbench",
		ProducerVersion: opts.Producer,
		Graph:           b.g,
		Metadata:        meta,
	}, nil
}

type builder struct {
	cfg        *Config
	w          Weights
	opts       Options
	elem       onnxpb.DataType
	prefix     string
	g          onnxpb.Graph
	n          int
	missing    []string
	wrongShape []string
	// quantized maps a value to its DynamicQuantizeLinear outputs (int8).
	quantized map[string][3]string
}

// findPrefix detects how the checkpoint names the encoder: BertModel saves
// "embeddings....", BertForPreTraining "bert.embeddings....", RoBERTa
// masked-LM checkpoints "roberta.embeddings....".
func (b *builder) findPrefix() string {
	for _, p := range []string{"", "bert.", "roberta.", "model."} {
		if _, ok := b.lookup(p + "embeddings.word_embeddings.weight"); ok {
			return p
		}
	}
	return ""
}

// lookup finds name, also under the old gamma/beta LayerNorm names.
func (b *builder) lookup(name string) (string, bool) {
	if _, ok := b.w.Info(name); ok {
		return name, true
	}
	for _, r := range [][2]string{{"LayerNorm.weight", "LayerNorm.gamma"}, {"LayerNorm.bias", "LayerNorm.beta"}} {
		if strings.HasSuffix(name, r[0]) {
			alt := strings.TrimSuffix(name, r[0]) + r[1]
			if _, ok := b.w.Info(alt); ok {
				return alt, true
			}
		}
	}
	return name, false
}

// name returns a fresh value name.
func (b *builder) name(op string) string {
	b.n++
	return fmt.Sprintf("%s_%d", op, b.n)
}

// op adds a node with one output and returns the output's name.
func (b *builder) op(opType string, inputs []string, attrs ...onnxpb.Attr) string {
	out := b.name(opType)
	b.opTo(out, opType, inputs, attrs...)
	return out
}

func (b *builder) opTo(out, opType string, inputs []string, attrs ...onnxpb.Attr) {
	b.g.Nodes = append(b.g.Nodes, onnxpb.Node{
		Name:    out + "_node",
		OpType:  opType,
		Inputs:  inputs,
		Outputs: []string{out},
		Attrs:   attrs,
	})
}

// floatConst adds a float (or float16) constant initializer.
func (b *builder) floatConst(name string, dims []int64, vals ...float32) string {
	b.g.Initializers = append(b.g.Initializers, &onnxpb.Tensor{
		Name: name, DataType: b.elem, Dims: dims, Raw: encodeFloats(vals, b.elem),
	})
	return name
}

// intConst adds an int64 constant initializer.
func (b *builder) intConst(name string, dims []int64, vals ...int64) string {
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	b.g.Initializers = append(b.g.Initializers, &onnxpb.Tensor{Name: name, DataType: onnxpb.Int64, Dims: dims, Raw: raw})
	return name
}

// weight adds the checkpoint tensor key (relative to the prefix) as an
// initializer of shape want; transpose stores a [out, in] Linear weight as
// [in, out] for MatMul; row>=0 keeps only that row of a 2-D table.
func (b *builder) weight(key string, want []int64, transpose bool, row int) string {
	full, ok := b.lookup(b.prefix + key)
	if !ok {
		b.missing = append(b.missing, b.prefix+key)
		return key
	}
	info, _ := b.w.Info(full)
	src := info.Shape
	switch {
	case transpose:
		if len(src) != 2 || src[0] != want[1] || src[1] != want[0] {
			b.wrongShape = append(b.wrongShape, fmt.Sprintf("%s has shape %v, want [%d %d]", full, src, want[1], want[0]))
		}
	case row >= 0:
		if len(src) != 2 || src[0] <= int64(row) || src[1] != want[len(want)-1] {
			b.wrongShape = append(b.wrongShape, fmt.Sprintf("%s has shape %v, want [>%d %d]", full, src, row, want[len(want)-1]))
		}
	default:
		if !equalDims(src, want) {
			b.wrongShape = append(b.wrongShape, fmt.Sprintf("%s has shape %v, want %v", full, src, want))
		}
	}
	elem := b.elem
	w := b.w
	b.g.Initializers = append(b.g.Initializers, &onnxpb.Tensor{
		Name:     key,
		DataType: elem,
		Dims:     want,
		Load: func() ([]byte, error) {
			if rw, ok := w.(RawWeights); ok && elem == onnxpb.Float && !transpose && row < 0 && info.DType == "F32" {
				raw, _, err := rw.Raw(full)
				return raw, err
			}
			vals, info, err := w.Float32(full)
			if err != nil {
				return nil, err
			}
			switch {
			case transpose:
				vals = transpose2D(vals, int(info.Shape[0]), int(info.Shape[1]))
			case row >= 0:
				cols := int(info.Shape[1])
				vals = vals[row*cols : (row+1)*cols]
			}
			return encodeFloats(vals, elem), nil
		},
	})
	return key
}

func equalDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func transpose2D(v []float32, rows, cols int) []float32 {
	out := make([]float32, len(v))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = v[r*cols+c]
		}
	}
	return out
}

func encodeFloats(vals []float32, elem onnxpb.DataType) []byte {
	if elem == onnxpb.Float16 {
		raw := make([]byte, 2*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint16(raw[2*i:], float16.Fromfloat32(v).Bits())
		}
		return raw
	}
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return raw
}

func (b *builder) build() error {
	cfg := b.cfg
	W := int64(cfg.HiddenSize)
	dyn := []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}}
	b.g.Name = "bertbench_encoder"
	b.g.Inputs = []onnxpb.ValueInfo{
		{Name: InputIDs, ElemType: onnxpb.Int64, Shape: dyn},
		{Name: AttentionMask, ElemType: onnxpb.Int64, Shape: dyn},
	}
	bert := cfg.Arch() == ArchBERT
	if bert {
		b.g.Inputs = append(b.g.Inputs, onnxpb.ValueInfo{Name: TokenTypeIDs, ElemType: onnxpb.Int64, Shape: dyn})
	}

	// Embeddings: word + token type, then + position, then LayerNorm.
	word := b.weight("embeddings.word_embeddings.weight", []int64{int64(cfg.VocabSize), W}, false, -1)
	x := b.op("Gather", []string{word, InputIDs}, onnxpb.IntAttr("axis", 0))
	if bert {
		tt := b.weight("embeddings.token_type_embeddings.weight", []int64{int64(cfg.TypeVocabSize), W}, false, -1)
		x = b.op("Add", []string{x, b.op("Gather", []string{tt, TokenTypeIDs}, onnxpb.IntAttr("axis", 0))})
	} else {
		// RoBERTa's token_type_ids are always zero: add row 0.
		tt0 := b.weight("embeddings.token_type_embeddings.weight", []int64{W}, false, 0)
		x = b.op("Add", []string{x, tt0})
	}
	pos := b.weight("embeddings.position_embeddings.weight", []int64{int64(cfg.MaxPositionEmbeddings), W}, false, -1)
	var pe string
	if bert {
		// positions 0..S-1, computed elementwise from input_ids (cumsum of
		// ones minus one) so the graph keeps the symbolic [batch, sequence]
		// shape that ONNX Runtime's SkipLayerNormalization fusion needs.
		zeros := b.op("Mul", []string{InputIDs, b.intConst("const_zero", nil, 0)})
		ones := b.op("Add", []string{zeros, b.intConst("const_one", nil, 1)})
		ids := b.op("Sub", []string{b.op("CumSum", []string{ones, b.intConst("const_axis1", nil, 1)}), b.intConst("const_one_sub", nil, 1)})
		pe = b.op("Gather", []string{pos, ids}, onnxpb.IntAttr("axis", 0))
	} else {
		// positions cumsum(mask)*mask + padding_idx: real tokens count from
		// padding_idx+1, padding sits at padding_idx.
		cs := b.op("CumSum", []string{AttentionMask, b.intConst("const_axis1", nil, 1)})
		masked := b.op("Mul", []string{cs, AttentionMask})
		ids := b.op("Add", []string{masked, b.intConst("const_padding_idx", nil, int64(cfg.PadID()))})
		pe = b.op("Gather", []string{pos, ids}, onnxpb.IntAttr("axis", 0))
	}
	x = b.op("Add", []string{x, pe})
	h := b.layerNorm(x, "embeddings.LayerNorm", W)

	if b.opts.Layer > 0 {
		// Extended attention mask, shared by every layer: (1 - mask) * -10000
		// broadcast to [batch, 1, 1, sequence].
		m := b.op("Unsqueeze", []string{AttentionMask}, onnxpb.IntsAttr("axes", 1))
		m = b.op("Unsqueeze", []string{m}, onnxpb.IntsAttr("axes", 2))
		m = b.op("Cast", []string{m}, onnxpb.IntAttr("to", int64(b.elem)))
		m = b.op("Sub", []string{b.floatConst("const_mask_one", nil, 1), m})
		maskAdd := b.op("Mul", []string{m, b.floatConst("const_mask_value", nil, maskValue)})
		for i := 0; i < b.opts.Layer; i++ {
			h = b.layer(i, h, maskAdd)
		}
	}
	if b.elem == onnxpb.Float16 {
		b.opTo(LastHiddenState, "Cast", []string{h}, onnxpb.IntAttr("to", int64(onnxpb.Float)))
	} else {
		b.opTo(LastHiddenState, "Identity", []string{h})
	}
	b.g.Outputs = []onnxpb.ValueInfo{{
		Name: LastHiddenState, ElemType: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}, {Value: W}},
	}}
	return nil
}

// linear adds x @ W^T + b for the checkpoint's Linear layer key.
func (b *builder) linear(x, key string, in, out int64) string {
	if b.opts.Precision == modelspec.INT8 {
		return b.quantizedLinear(x, key, in, out)
	}
	w := b.weight(key+".weight", []int64{in, out}, true, -1)
	bias := b.weight(key+".bias", []int64{out}, false, -1)
	return b.op("Add", []string{b.op("MatMul", []string{x, w}), bias})
}

// layerNorm adds LayerNorm over the last axis, written out as the
// ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add pattern that ONNX
// Runtime fuses into one LayerNormalization node.
func (b *builder) layerNorm(x, key string, W int64) string {
	gamma := b.weight(key+".weight", []int64{W}, false, -1)
	beta := b.weight(key+".bias", []int64{W}, false, -1)
	mean := b.op("ReduceMean", []string{x}, onnxpb.IntsAttr("axes", -1))
	d := b.op("Sub", []string{x, mean})
	sq := b.op("Pow", []string{d, b.floatConst(b.name("const_two"), nil, 2)})
	v := b.op("ReduceMean", []string{sq}, onnxpb.IntsAttr("axes", -1))
	v = b.op("Add", []string{v, b.floatConst(b.name("const_eps"), nil, float32(b.cfg.LayerNormEps))})
	sd := b.op("Sqrt", []string{v})
	n := b.op("Div", []string{d, sd})
	return b.op("Add", []string{b.op("Mul", []string{n, gamma}), beta})
}

// layer adds encoder layer i: self-attention, residual and LayerNorm, then
// the GELU feed-forward block, residual and LayerNorm.
func (b *builder) layer(i int, h, maskAdd string) string {
	cfg := b.cfg
	W := int64(cfg.HiddenSize)
	N := int64(cfg.NumAttentionHeads)
	H := int64(cfg.HeadSize())
	I := int64(cfg.IntermediateSize)
	p := fmt.Sprintf("encoder.layer.%d.", i)
	heads := b.intConst(fmt.Sprintf("layer%d_heads_shape", i), []int64{4}, 0, 0, N, H)
	merged := b.intConst(fmt.Sprintf("layer%d_merged_shape", i), []int64{3}, 0, 0, W)

	split := func(key string, perm ...int64) string {
		y := b.linear(h, p+"attention.self."+key, W, W)
		y = b.op("Reshape", []string{y, heads})
		return b.op("Transpose", []string{y}, onnxpb.IntsAttr("perm", perm...))
	}
	q := split("query", 0, 2, 1, 3)
	k := split("key", 0, 2, 3, 1)
	v := split("value", 0, 2, 1, 3)
	s := b.op("MatMul", []string{q, k})
	s = b.op("Div", []string{s, b.floatConst(fmt.Sprintf("layer%d_scale", i), nil, float32(math.Sqrt(float64(H))))})
	s = b.op("Add", []string{s, maskAdd})
	s = b.op("Softmax", []string{s}, onnxpb.IntAttr("axis", 3))
	ctx := b.op("MatMul", []string{s, v})
	ctx = b.op("Transpose", []string{ctx}, onnxpb.IntsAttr("perm", 0, 2, 1, 3))
	ctx = b.op("Reshape", []string{ctx, merged})
	a := b.linear(ctx, p+"attention.output.dense", W, W)
	a = b.op("Add", []string{a, h})
	a = b.layerNorm(a, p+"attention.output.LayerNorm", W)

	f := b.linear(a, p+"intermediate.dense", W, I)
	// GELU(x) = x * 0.5 * (1 + erf(x / sqrt(2))).
	e := b.op("Erf", []string{b.op("Div", []string{f, b.floatConst(fmt.Sprintf("layer%d_sqrt2", i), nil, float32(math.Sqrt2))})})
	e = b.op("Add", []string{e, b.floatConst(fmt.Sprintf("layer%d_one", i), nil, 1)})
	f = b.op("Mul", []string{f, e})
	f = b.op("Mul", []string{f, b.floatConst(fmt.Sprintf("layer%d_half", i), nil, 0.5)})
	o := b.linear(f, p+"output.dense", I, W)
	o = b.op("Add", []string{o, a})
	return b.layerNorm(o, p+"output.LayerNorm", W)
}

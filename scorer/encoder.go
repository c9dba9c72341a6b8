package scorer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/models/onnxpb"
)

// Names of the graph inputs and output an encoder must have.
const (
	inputIDs      = "input_ids"
	attentionMask = "attention_mask"
	tokenTypeIDs  = "token_type_ids"
	hiddenOutput  = "last_hidden_state"
)

// EncoderOptions configures an Encoder.
type EncoderOptions struct {
	// Threads is ONNX Runtime's intra-op thread count; 0 means every core.
	Threads int
	// Provider, when set, is called on the session options before the
	// session is created, to append an execution provider (for example
	// CUDA). Nil runs on ONNX Runtime's CPU provider.
	Provider func(*ort.SessionOptions) error
	// ProviderName names the provider in result hashes ("cpu" when empty).
	ProviderName string
}

// Encoder runs an ONNX encoder: inputs input_ids and attention_mask (and
// token_type_ids when the graph has it, fed all zeros), output
// last_hidden_state [batch, sequence, hidden] in float32.
type Encoder struct {
	path         string
	session      *ort.DynamicAdvancedSession
	inputNames   []string
	idType       []ort.TensorElementDataType // per input
	hidden       int                         // 0 when the graph leaves it dynamic
	providerName string
	precision    string // of the weights: "fp32", "fp16", ...; "" if unknown
}

// NewEncoder loads the ONNX model at path and checks that its inputs and
// outputs fit. ONNX Runtime must already be loaded (see package ortlib).
func NewEncoder(path string, opts EncoderOptions) (enc *Encoder, err error) {
	defer recoverAs(&err, "loading encoder "+path)
	if !ort.IsInitialized() {
		return nil, errors.New("ONNX Runtime is not loaded (call ortlib.Load first)")
	}
	if st, err := os.Stat(path); err != nil {
		return nil, asInput(fmt.Errorf("encoder: %w", err))
	} else if st.IsDir() {
		return nil, asInput(fmt.Errorf("encoder %s: is a folder, want an .onnx file", path))
	} else if st.Size() == 0 {
		return nil, asInput(fmt.Errorf("encoder %s: the file is empty (an interrupted export or download?): re-export it, or rebuild the folder with `bertbench models import`", path))
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("encoder: session options: %w", err)
	}
	defer so.Destroy()
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("encoder: setting %d threads: %w", threads, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("encoder: setting inter-op threads: %w", err)
	}
	// Idle ONNX Runtime threads sleep instead of spinning: the scorer's own
	// goroutines (tokenizing the next chunk, matching) share the cores.
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("encoder: session options: %w", err)
	}
	name := opts.ProviderName
	if opts.Provider != nil {
		if err := opts.Provider(so); err != nil {
			return nil, fmt.Errorf("encoder: adding execution provider %s: %w", name, err)
		}
	}
	if name == "" {
		name = "cpu"
	}
	// The graph's inputs and outputs are read from the file statically
	// (streaming past the weights), so ONNX Runtime builds the graph only
	// once, for the session.
	ins, outs, precision, err := graphIO(path)
	if err != nil {
		return nil, asInput(fmt.Errorf("encoder %s: not a loadable ONNX model: %w (re-export it, or rebuild the folder with `bertbench models import`)", path, err))
	}
	e := &Encoder{path: path, providerName: name, precision: precision}
	if err := e.checkGraph(ins, outs); err != nil {
		return nil, asInput(fmt.Errorf("encoder %s: %w", path, err))
	}
	e.session, err = ort.NewDynamicAdvancedSession(path, e.inputNames, []string{hiddenOutput}, so)
	if err != nil {
		return nil, asInput(fmt.Errorf("encoder %s: ONNX Runtime %s cannot load it: %w (re-export it, or rebuild the folder with `bertbench models import`)", path, ort.GetVersion(), err))
	}
	return e, nil
}

// graphIO reads the ONNX model at path and describes its graph's inputs
// (weights listed as inputs by old exporters left out) and outputs the way
// ONNX Runtime does (ONNX's element type numbers are ONNX Runtime's), and
// the precision most of its weights are stored in.
func graphIO(path string) (ins, outs []ort.InputOutputInfo, precision string, err error) {
	m, err := onnxpb.ReadFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	g := &m.Graph
	weights := make(map[string]bool, len(g.Initializers))
	for _, t := range g.Initializers {
		weights[t.Name] = true
	}
	precision = weightPrecision(g.Initializers)
	info := func(v onnxpb.ValueInfo) ort.InputOutputInfo {
		io := ort.InputOutputInfo{Name: v.Name, OrtValueType: ort.ONNXTypeTensor, DataType: ort.TensorElementDataType(v.ElemType)}
		if v.ElemType == 0 {
			io.OrtValueType = ort.ONNXTypeUnknown // a sequence, map or optional
		}
		for _, d := range v.Shape {
			n := d.Value
			if d.Param != "" || n <= 0 {
				n = -1
			}
			io.Dimensions = append(io.Dimensions, n)
		}
		return io
	}
	for _, v := range g.Inputs {
		if !weights[v.Name] {
			ins = append(ins, info(v))
		}
	}
	for _, v := range g.Outputs {
		outs = append(outs, info(v))
	}
	return ins, outs, precision, nil
}

// weightPrecision names the element type that holds the most weight
// values ("fp32", "fp16", "bf16", "fp64", "int8"), "" when there are none.
func weightPrecision(ts []*onnxpb.Tensor) string {
	names := map[onnxpb.DataType]string{
		onnxpb.Float: "fp32", onnxpb.Float16: "fp16", onnxpb.BFloat16: "bf16",
		onnxpb.Double: "fp64", onnxpb.Int8: "int8", onnxpb.Uint8: "int8",
	}
	count := map[string]int64{}
	for _, t := range ts {
		name, ok := names[t.DataType]
		if !ok {
			continue
		}
		n := int64(1)
		for _, d := range t.Dims {
			n *= d
		}
		count[name] += n
	}
	best := ""
	for _, name := range []string{"fp32", "fp16", "bf16", "fp64", "int8"} {
		if count[name] > 0 && (best == "" || count[name] > count[best]) {
			best = name
		}
	}
	return best
}

// checkGraph validates the graph's inputs and outputs and records how to
// feed it.
func (e *Encoder) checkGraph(ins, outs []ort.InputOutputInfo) error {
	var problems []string
	have := map[string]ort.InputOutputInfo{}
	for _, in := range ins {
		have[in.Name] = in
		switch in.Name {
		case inputIDs, attentionMask, tokenTypeIDs:
		default:
			problems = append(problems, fmt.Sprintf("unexpected input %q (%s)", in.Name, describe(in)))
		}
	}
	for _, name := range []string{inputIDs, attentionMask, tokenTypeIDs} {
		in, ok := have[name]
		if !ok {
			if name != tokenTypeIDs {
				problems = append(problems, fmt.Sprintf("missing input %q", name))
			}
			continue
		}
		if in.OrtValueType != ort.ONNXTypeTensor || (in.DataType != ort.TensorElementDataTypeInt64 && in.DataType != ort.TensorElementDataTypeInt32) || len(in.Dimensions) != 2 {
			problems = append(problems, fmt.Sprintf("input %q is %s, want an int64 or int32 tensor [batch, sequence]", name, describe(in)))
			continue
		}
		e.inputNames = append(e.inputNames, name)
		e.idType = append(e.idType, in.DataType)
	}
	var out *ort.InputOutputInfo
	var outNames []string
	for i := range outs {
		outNames = append(outNames, outs[i].Name)
		if outs[i].Name == hiddenOutput {
			out = &outs[i]
		}
	}
	switch {
	case out == nil:
		problems = append(problems, fmt.Sprintf("no output %q (the graph's outputs: %s)", hiddenOutput, strings.Join(outNames, ", ")))
	case out.OrtValueType != ort.ONNXTypeTensor || out.DataType != ort.TensorElementDataTypeFloat || len(out.Dimensions) != 3:
		problems = append(problems, fmt.Sprintf("output %q is %s, want a float32 tensor [batch, sequence, hidden]", hiddenOutput, describe(*out)))
	default:
		if h := out.Dimensions[2]; h > 0 {
			e.hidden = int(h)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("does not fit a BERTScore encoder (want inputs input_ids, attention_mask and optionally token_type_ids; output last_hidden_state): %s", strings.Join(problems, "; "))
	}
	return nil
}

func describe(io ort.InputOutputInfo) string {
	if io.OrtValueType != ort.ONNXTypeTensor {
		return io.OrtValueType.String()
	}
	return fmt.Sprintf("%s tensor %v", io.DataType, io.Dimensions)
}

// Precision names the element type most of the model's weights are stored
// in ("fp32", "fp16", "bf16", "fp64" or "int8"), "" when the graph has no
// such weights.
func (e *Encoder) Precision() string { return e.precision }

// ProviderName names the execution provider the encoder runs on.
func (e *Encoder) ProviderName() string { return e.providerName }

// Encode runs one batch: ids holds each sentence's token ids (padded here
// to the longest with pad). It returns the hidden states, [len(ids), seq,
// hidden] flattened, with seq the longest length, and hidden.
// Cancelling ctx stops a run in progress.
func (e *Encoder) Encode(ctx context.Context, ids [][]int32, pad int32) (out []float32, seq, hidden int, err error) {
	defer recoverAs(&err, "running encoder")
	if len(ids) == 0 {
		return nil, 0, 0, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, 0, err
	}
	for _, s := range ids {
		seq = max(seq, len(s))
	}
	if seq == 0 {
		return nil, 0, 0, errors.New("encoder: every sentence in the batch has no tokens")
	}
	b := len(ids)
	shape := ort.NewShape(int64(b), int64(seq))
	inputs := make([]ort.Value, len(e.inputNames))
	defer func() {
		for _, v := range inputs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for k, name := range e.inputNames {
		v, err := makeInput(name, e.idType[k], shape, ids, pad)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("encoder: input %s: %w", name, err)
		}
		inputs[k] = v
	}
	outputs := []ort.Value{nil}
	var outT *ort.Tensor[float32]
	if e.hidden > 0 {
		outT, err = ort.NewTensor(ort.NewShape(int64(b), int64(seq), int64(e.hidden)), make([]float32, b*seq*e.hidden))
		if err != nil {
			return nil, 0, 0, fmt.Errorf("encoder: output tensor: %w", err)
		}
		outputs[0] = outT
	}
	defer func() {
		if outputs[0] != nil {
			outputs[0].Destroy()
		}
	}()
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("encoder: run options: %w", err)
	}
	defer ro.Destroy()
	// Cancelling ctx terminates the run. The deferred Destroy of ro must
	// not race a Terminate in progress: when stop reports that the
	// callback already started, wait for it to finish.
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(terminated)
		ro.Terminate()
	})
	err = e.session.RunWithOptions(inputs, outputs, ro)
	if !stop() {
		<-terminated
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, 0, ctx.Err()
		}
		return nil, 0, 0, fmt.Errorf("encoder %s: %w", e.path, err)
	}
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, 0, 0, fmt.Errorf("encoder %s: output %s is %T, want a float32 tensor", e.path, hiddenOutput, outputs[0])
	}
	s := t.GetShape()
	if len(s) != 3 || s[0] != int64(b) || s[1] != int64(seq) || s[2] <= 0 {
		return nil, 0, 0, fmt.Errorf("encoder %s: output %s has shape %v, want [%d %d hidden]", e.path, hiddenOutput, s, b, seq)
	}
	return t.GetData(), seq, int(s[2]), nil
}

// makeInput builds one [batch, seq] input tensor: the padded ids, the
// attention mask, or all-zero token types.
func makeInput(name string, typ ort.TensorElementDataType, shape ort.Shape, ids [][]int32, pad int32) (ort.Value, error) {
	seq := int(shape[1])
	fill := func(put func(i int, v int64)) {
		for r, s := range ids {
			row := r * seq
			for c := range seq {
				var v int64
				switch name {
				case inputIDs:
					v = int64(pad)
					if c < len(s) {
						v = int64(s[c])
					}
				case attentionMask:
					if c < len(s) {
						v = 1
					}
				}
				put(row+c, v)
			}
		}
	}
	n := len(ids) * seq
	if typ == ort.TensorElementDataTypeInt32 {
		data := make([]int32, n)
		fill(func(i int, v int64) { data[i] = int32(v) })
		return ort.NewTensor(shape, data)
	}
	data := make([]int64, n)
	fill(func(i int, v int64) { data[i] = v })
	return ort.NewTensor(shape, data)
}

// Close releases the session.
func (e *Encoder) Close() error {
	if e == nil || e.session == nil {
		return nil
	}
	err := e.session.Destroy()
	e.session = nil
	return err
}

// recoverAs turns a panic in third-party code into an error.
func recoverAs(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: internal failure: %v", what, r)
	}
}

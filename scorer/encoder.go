package scorer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/modelspec"
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

// Encoder runs an ONNX encoder that meets modelspec.Contract: inputs
// input_ids and attention_mask (and token_type_ids when the graph has it,
// fed all zeros), output last_hidden_state [batch, sequence, hidden] in
// float32.
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
	m, err := onnxpb.ReadFile(path)
	if err != nil {
		return nil, asInput(fmt.Errorf("encoder %s: not a loadable ONNX model: %w (re-export it, or rebuild the folder with `bertbench models import`)", path, err))
	}
	sig, err := modelspec.Check(m.Graph.Describe())
	if err != nil {
		return nil, asInput(fmt.Errorf("encoder %s %w", path, err))
	}
	e := &Encoder{path: path, providerName: name, precision: weightPrecision(m.Graph.Initializers), hidden: int(sig.HiddenSize)}
	for _, in := range sig.Inputs {
		e.inputNames = append(e.inputNames, in.Name)
		e.idType = append(e.idType, ort.TensorElementDataType(in.Type))
	}
	e.session, err = ort.NewDynamicAdvancedSession(path, e.inputNames, []string{modelspec.HiddenStates}, so)
	if err != nil {
		return nil, asInput(fmt.Errorf("encoder %s: ONNX Runtime %s cannot load it: %w (re-export it, or rebuild the folder with `bertbench models import`)", path, ort.GetVersion(), err))
	}
	return e, nil
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
		return nil, 0, 0, fmt.Errorf("encoder %s: output %s is %T, want a float32 tensor", e.path, modelspec.HiddenStates, outputs[0])
	}
	s := t.GetShape()
	if len(s) != 3 || s[0] != int64(b) || s[1] != int64(seq) || s[2] <= 0 {
		return nil, 0, 0, fmt.Errorf("encoder %s: output %s has shape %v, want [%d %d hidden]", e.path, modelspec.HiddenStates, s, b, seq)
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
				case modelspec.InputIDs:
					v = int64(pad)
					if c < len(s) {
						v = int64(s[c])
					}
				case modelspec.AttentionMask:
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

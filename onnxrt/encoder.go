package onnxrt

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/scorer"
)

// EncoderOptions configures an Encoder.
type EncoderOptions struct {
	// Device is where the encoder runs (the CPU when zero).
	Device Device
	// Threads is ONNX Runtime's intra-op thread count; 0 means every CPU
	// the process may use (cpus.Usable).
	Threads int
	// TF32 lets CUDA compute float32 matrix products in TF32: faster on
	// recent GPUs, not exact (hidden states differ by up to 2.6e-3,
	// measured on an mBERT-size model; the precision reads "fp32+tf32").
	// Off, CUDA computes strict fp32 (use_tf32=0). It does nothing on the
	// CPU.
	TF32 bool
	// CUDAProvider is the CUDA execution provider library ("" finds it:
	// see FindCUDAProvider). It is loaded once per process.
	CUDAProvider string
	// DisableOptimizations turns ONNX Runtime's graph optimizations off
	// (for comparing a graph with its fused form).
	DisableOptimizations bool
	// Spinning lets idle intra-op threads spin (busy-wait) for the next
	// piece of work instead of sleeping (ONNX Runtime's
	// session.intra_op.allow_spinning); off by default, so that the
	// scorer's own goroutines get the cores.
	Spinning bool
	// Profile, when set, makes ONNX Runtime record every node's run time
	// and write it as a JSON trace (Chrome's trace format) named
	// Profile_<date>.json when the encoder is closed: where an encoder's
	// time goes, node by node.
	Profile string
}

// Encoder runs an ONNX encoder that meets modelspec's contract (inputs
// input_ids and attention_mask, and token_type_ids when the graph has
// it, fed all zeros; output last_hidden_state [batch, sequence, hidden]
// in float32) on one device through the plugin execution-provider API
// (the same path for the CPU and CUDA). It implements scorer.Encoder and
// is safe for concurrent use.
type Encoder struct {
	path       string
	mu         sync.RWMutex // held for reading by Encode, for writing by Close
	session    *ort.DynamicAdvancedSession
	inputNames []string
	idType     []ort.TensorElementDataType // per input
	hidden     int                         // 0 when the graph leaves it dynamic
	cuda       bool
	info       scorer.EncoderInfo
	signals    *signalGuard
}

var _ scorer.Encoder = (*Encoder)(nil)

// NewEncoder loads the ONNX model at path onto opts.Device with the
// process-wide runtime (which must be loaded: see Load).
func NewEncoder(path string, opts EncoderOptions) (*Encoder, error) {
	return defaultRuntime.NewEncoder(path, opts)
}

// NewEncoder loads the ONNX model at path onto opts.Device, after checking
// that its inputs and outputs fit. A model that does not fit, or that ONNX
// Runtime cannot load, is an input error (scorer.ErrInvalidInput); a
// device that cannot be used is not.
func (r *Runtime) NewEncoder(path string, opts EncoderOptions) (enc *Encoder, err error) {
	defer recoverAs(&err, "loading encoder "+path)
	start := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		return nil, errors.New("ONNX Runtime is not loaded (call onnxrt.Load first)")
	}
	if opts.Threads < 0 {
		return nil, inputErr(fmt.Errorf("encoder: %d threads: must not be negative", opts.Threads))
	}
	if st, err := os.Stat(path); err != nil {
		return nil, inputErr(fmt.Errorf("encoder: %w", err))
	} else if st.IsDir() {
		return nil, inputErr(fmt.Errorf("encoder %s: is a folder, want an .onnx file", path))
	} else if st.Size() == 0 {
		return nil, inputErr(fmt.Errorf("encoder %s: the file is empty (an interrupted export or download?): re-export it, or rebuild the folder with `bertbench models import`", path))
	}
	// The graph's inputs and outputs are read from the file statically
	// (streaming past the weights, while hashing them), so ONNX Runtime
	// builds the graph only once, for the session.
	m, sum, err := readModel(path)
	if err != nil {
		return nil, inputErr(fmt.Errorf("encoder %s: not a loadable ONNX model: %w (re-export it, or rebuild the folder with `bertbench models import`)", path, err))
	}
	sig, err := modelspec.Check(m.Graph.Describe())
	if err != nil {
		return nil, inputErr(fmt.Errorf("encoder %s %w", path, err))
	}
	e := &Encoder{path: path, hidden: int(sig.HiddenSize), cuda: opts.Device.Kind == CUDA, signals: &r.signals}
	if e.cuda && e.hidden == 0 {
		// ONNX Runtime would allocate the output on the GPU side, which
		// onnxruntime_go cannot hand back; the output is made here, and
		// needs its size.
		return nil, inputErr(fmt.Errorf("encoder %s: the output's hidden size is not fixed in the graph, which CUDA needs: rebuild the folder with `bertbench models import`", path))
	}
	for _, in := range sig.Inputs {
		e.inputNames = append(e.inputNames, in.Name)
		e.idType = append(e.idType, ort.TensorElementDataType(in.Type))
	}
	precision := cmp.Or(weightPrecision(&m.Graph), string(modelspec.FP32))
	if err := modelspec.Precision(precision).CheckCUDA(); e.cuda && err != nil {
		return nil, inputErr(fmt.Errorf("encoder %s: %w", path, err))
	}
	dev, err := r.epDevice(opts.Device, opts.CUDAProvider)
	if err != nil {
		return nil, err
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	epOpts := map[string]string{}
	if e.cuda {
		epOpts["use_tf32"] = "0"
		if opts.TF32 {
			epOpts["use_tf32"] = "1"
			precision += modelspec.TF32Suffix
		}
	}
	if err := so.AppendExecutionProviderV2([]ort.EpDevice{dev}, epOpts); err != nil {
		return nil, fmt.Errorf("encoder: adding the %s execution provider for %s: %w", dev.EpName(), opts.Device, err)
	}
	if e.cuda {
		r.signals.save()
		defer r.signals.restore()
	}
	e.session, err = ort.NewDynamicAdvancedSession(path, e.inputNames, []string{modelspec.HiddenStates}, so)
	if err != nil {
		if e.cuda {
			return nil, fmt.Errorf("encoder %s: ONNX Runtime %s cannot load it on %s: %w", path, ort.GetVersion(), opts.Device, err)
		}
		return nil, inputErr(fmt.Errorf("encoder %s: ONNX Runtime %s cannot load it: %w (re-export it, or rebuild the folder with `bertbench models import`)", path, ort.GetVersion(), err))
	}
	e.info = scorer.EncoderInfo{
		Runtime:        "onnxruntime",
		RuntimeVersion: ort.GetVersion(),
		Device:         opts.Device.String(),
		Precision:      precision,
		WeightsDigest:  sum,
		LoadTime:       time.Since(start),
	}
	return e, nil
}

// sessionOptions makes the session options for opts; the caller destroys
// them.
func sessionOptions(opts EncoderOptions) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("encoder: session options: %w", err)
	}
	threads := cmp.Or(opts.Threads, cpus.Usable())
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("encoder: setting %d threads: %w", threads, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("encoder: setting inter-op threads: %w", err)
	}
	// Idle ONNX Runtime threads sleep instead of spinning unless asked:
	// the scorer's own goroutines (tokenizing the next chunk, matching)
	// share the cores.
	spin := "0"
	if opts.Spinning {
		spin = "1"
	}
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("encoder: session options: %w", err)
	}
	if opts.Profile != "" {
		if err := so.EnableProfiling(opts.Profile); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("encoder: profiling: %w", err)
		}
	}
	if opts.DisableOptimizations {
		if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("encoder: session options: %w", err)
		}
	}
	return so, nil
}

// readModel reads the model at path statically and returns it with the
// hex sha256 of its weights: of the file (read once, for both), then, for
// a model with external data, of each data file's name and bytes in turn.
func readModel(path string) (*onnxpb.Model, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	tee := io.TeeReader(f, h)
	m, err := onnxpb.Read(bufio.NewReaderSize(tee, 1<<16), st.Size())
	if err != nil {
		return nil, "", err
	}
	// The reader may stop short of bytes it buffered but did not need;
	// the rest of the file goes into the digest too.
	if _, err := io.Copy(h, f); err != nil {
		return nil, "", err
	}
	for _, loc := range m.ExternalFiles() {
		if filepath.IsAbs(loc) || strings.Contains(filepath.ToSlash(loc), "../") {
			return nil, "", fmt.Errorf("external data location %q: must be a file beside the model", loc)
		}
		x, err := os.Open(filepath.Join(filepath.Dir(path), loc))
		if err != nil {
			return nil, "", fmt.Errorf("external data: %w", err)
		}
		fmt.Fprintf(h, "\x00%s\x00", loc)
		_, err = io.Copy(h, x)
		x.Close()
		if err != nil {
			return nil, "", fmt.Errorf("external data %s: %w", loc, err)
		}
	}
	return m, hex.EncodeToString(h.Sum(nil)), nil
}

// integerMatMuls are the ops that multiply quantised (8-bit integer)
// matrices.
var integerMatMuls = map[string]bool{
	"MatMulInteger": true, "QLinearMatMul": true, "ConvInteger": true, "QLinearConv": true,
	"com.microsoft.MatMulIntegerToFloat": true, "com.microsoft.DynamicQuantizeMatMul": true,
	"com.microsoft.QAttention": true, "com.microsoft.QGemm": true,
}

// weightPrecision names the graph's arithmetic: "int8" when it multiplies
// quantised matrices (the 8-bit weights may be fewer values than the
// float32 embeddings), else the element type that holds the most weight
// values ("fp32", "fp16", "bf16", "fp64"), "" when there are none.
func weightPrecision(g *onnxpb.Graph) string {
	for op := range g.OpCounts() {
		if integerMatMuls[op] {
			return string(modelspec.INT8)
		}
	}
	ts := g.Initializers
	names := map[onnxpb.DataType]string{
		onnxpb.Float: string(modelspec.FP32), onnxpb.Float16: string(modelspec.FP16), onnxpb.BFloat16: "bf16",
		onnxpb.Double: "fp64", onnxpb.Int8: string(modelspec.INT8), onnxpb.Uint8: string(modelspec.INT8),
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
	for _, name := range []string{string(modelspec.FP32), string(modelspec.FP16), "bf16", "fp64", string(modelspec.INT8)} {
		if count[name] > 0 && (best == "" || count[name] > count[best]) {
			best = name
		}
	}
	return best
}

// Info says what the encoder is: ONNX Runtime's version, the device the
// session was made for, the precision of the weights (and TF32), the
// model file's digest and how long loading took.
func (e *Encoder) Info() scorer.EncoderInfo { return e.info }

// HiddenSize is the graph's hidden size, 0 when the graph leaves it
// dynamic.
func (e *Encoder) HiddenSize() int { return e.hidden }

// Encode runs one batch: each sentence's token ids, padded here to the
// longest with b.Pad. Cancelling ctx stops a run in progress.
func (e *Encoder) Encode(ctx context.Context, b scorer.Batch) (h scorer.Hidden, err error) {
	defer recoverAs(&err, "running encoder")
	if err := ctx.Err(); err != nil {
		return scorer.Hidden{}, err
	}
	n := len(b.IDs)
	if n == 0 {
		return scorer.Hidden{}, nil
	}
	seq := 0
	for _, s := range b.IDs {
		seq = max(seq, len(s))
	}
	if seq == 0 {
		return scorer.Hidden{}, errors.New("encoder: every sentence in the batch has no tokens")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.session == nil {
		return scorer.Hidden{}, errors.New("encoder: used after Close")
	}
	shape := ort.NewShape(int64(n), int64(seq))
	inputs := make([]ort.Value, len(e.inputNames))
	defer func() {
		for _, v := range inputs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for k, name := range e.inputNames {
		v, err := makeInput(name, e.idType[k], shape, b.IDs, b.Pad)
		if err != nil {
			return scorer.Hidden{}, fmt.Errorf("encoder: input %s: %w", name, err)
		}
		inputs[k] = v
	}
	outputs := []ort.Value{nil}
	if e.hidden > 0 {
		// The output lands in Go memory made here: on CUDA too, where the
		// provider copies it back.
		t, err := ort.NewTensor(ort.NewShape(int64(n), int64(seq), int64(e.hidden)), make([]float32, n*seq*e.hidden))
		if err != nil {
			return scorer.Hidden{}, fmt.Errorf("encoder: output tensor: %w", err)
		}
		outputs[0] = t
	}
	defer func() {
		if outputs[0] != nil {
			outputs[0].Destroy()
		}
	}()
	ro, err := ort.NewRunOptions()
	if err != nil {
		return scorer.Hidden{}, fmt.Errorf("encoder: run options: %w", err)
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
	if e.cuda {
		// The CUDA runtime may install its signal handlers on a first run.
		e.signals.restore()
	}
	if err != nil {
		if ctx.Err() != nil {
			return scorer.Hidden{}, ctx.Err()
		}
		return scorer.Hidden{}, fmt.Errorf("encoder %s: %w", e.path, err)
	}
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return scorer.Hidden{}, fmt.Errorf("encoder %s: output %s is %T, want a float32 tensor", e.path, modelspec.HiddenStates, outputs[0])
	}
	s := t.GetShape()
	if len(s) != 3 || s[0] != int64(n) || s[1] != int64(seq) || s[2] <= 0 {
		return scorer.Hidden{}, fmt.Errorf("encoder %s: output %s has shape %v, want [%d %d hidden]", e.path, modelspec.HiddenStates, s, n, seq)
	}
	return scorer.Hidden{Data: t.GetData(), Seq: seq, Dim: int(s[2])}, nil
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

// Close releases the session, after any Encode in progress returns.
func (e *Encoder) Close() error {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session == nil {
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

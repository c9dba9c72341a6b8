package onnxrt

import (
	"context"
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Tensor is an input or output of a Graph: its name in the graph, its
// shape, and its data, a []float32, []uint8, []int8 or []int32 of the
// shape's size. The Graph reads and writes Data in place: no copies.
type Tensor struct {
	Name  string
	Shape []int64
	Data  any
}

// GraphOptions configure a Graph's session on the CPU.
type GraphOptions struct {
	// Threads is ONNX Runtime's intra-op thread count; 0 means every CPU
	// the process may use (cpus.Usable).
	Threads int
	// Spinning lets idle ONNX Runtime threads spin (busy-wait) between
	// runs instead of sleeping, as EncoderOptions.Spinning.
	Spinning bool
}

// Graph is an ONNX Runtime session on the CPU over fixed input and output
// tensors, for any graph (a benchmark's MatMul, say), not only encoders:
// each Run reads the inputs' Data and writes the outputs' Data. It is
// safe for concurrent use, runs taking turns.
type Graph struct {
	mu      sync.Mutex
	session *ort.AdvancedSession
	values  []ort.Value
}

// NewGraph loads the ONNX model at path, with the given inputs and
// outputs bound, on the CPU with the process-wide runtime's session
// settings (those of an Encoder: opts.Threads intra-op threads, one
// inter-op thread, graph optimizations on). A graph ONNX Runtime cannot
// load, or tensors that do not fit it, are input errors.
func (r *Runtime) NewGraph(path string, inputs, outputs []Tensor, opts GraphOptions) (_ *Graph, err error) {
	defer recoverAs(&err, "loading graph "+path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		return nil, errors.New("ONNX Runtime is not loaded (call onnxrt.Load first)")
	}
	if opts.Threads < 0 {
		return nil, inputErr(fmt.Errorf("graph: %d threads: must not be negative", opts.Threads))
	}
	g := &Graph{}
	ok := false
	defer func() {
		if !ok {
			g.destroyValues()
		}
	}()
	var inNames, outNames []string
	var inVals, outVals []ort.Value
	for i, t := range append(append([]Tensor(nil), inputs...), outputs...) {
		v, err := ortTensor(t)
		if err != nil {
			return nil, inputErr(fmt.Errorf("graph %s: %w", path, err))
		}
		g.values = append(g.values, v)
		if i < len(inputs) {
			inNames, inVals = append(inNames, t.Name), append(inVals, v)
		} else {
			outNames, outVals = append(outNames, t.Name), append(outVals, v)
		}
	}
	dev, err := r.epDevice(Device{Kind: CPU}, "")
	if err != nil {
		return nil, err
	}
	so, err := sessionOptions(EncoderOptions{Threads: opts.Threads, Spinning: opts.Spinning})
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if err := so.AppendExecutionProviderV2([]ort.EpDevice{dev}, map[string]string{}); err != nil {
		return nil, fmt.Errorf("graph: adding the %s execution provider: %w", dev.EpName(), err)
	}
	if g.session, err = ort.NewAdvancedSession(path, inNames, outNames, inVals, outVals, so); err != nil {
		return nil, inputErr(fmt.Errorf("graph %s: ONNX Runtime %s cannot load it: %w", path, ort.GetVersion(), err))
	}
	ok = true
	return g, nil
}

// ortTensor wraps t's data (no copy).
func ortTensor(t Tensor) (ort.Value, error) {
	shape := ort.NewShape(t.Shape...)
	var v ort.Value
	var err error
	switch d := t.Data.(type) {
	case []float32:
		v, err = ort.NewTensor(shape, d)
	case []uint8:
		v, err = ort.NewTensor(shape, d)
	case []int8:
		v, err = ort.NewTensor(shape, d)
	case []int32:
		v, err = ort.NewTensor(shape, d)
	default:
		return nil, fmt.Errorf("tensor %s: data of type %T (want []float32, []uint8, []int8 or []int32)", t.Name, t.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return v, nil
}

// Run runs the graph once over its tensors.
func (g *Graph) Run(ctx context.Context) (err error) {
	defer recoverAs(&err, "running graph")
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.session == nil {
		return errors.New("graph: used after Close")
	}
	if err := g.session.Run(); err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	return nil
}

// Close releases the session and the tensors' runtime handles (not their
// Go data).
func (g *Graph) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var err error
	if g.session != nil {
		err = g.session.Destroy()
		g.session = nil
	}
	g.destroyValues()
	return err
}

func (g *Graph) destroyValues() {
	for _, v := range g.values {
		v.Destroy()
	}
	g.values = nil
}

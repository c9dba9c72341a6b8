package onnxrt

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/scorer"
)

// writeAddGraph writes y = x + c, x and c float32 [2].
func writeAddGraph(t *testing.T) string {
	t.Helper()
	var raw []byte
	for _, f := range []float32{10, 20} {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
	}
	vec := []onnxpb.Dim{{Value: 2}}
	m := &onnxpb.Model{IRVersion: 7, Opsets: []onnxpb.Opset{{Version: 13}}, Graph: onnxpb.Graph{
		Name:         "add",
		Nodes:        []onnxpb.Node{{Name: "add", OpType: "Add", Inputs: []string{"x", "c"}, Outputs: []string{"y"}}},
		Initializers: []*onnxpb.Tensor{{Name: "c", DataType: onnxpb.Float, Dims: []int64{2}, Raw: raw}},
		Inputs:       []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Shape: vec}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float, Shape: vec}},
	}}
	path := filepath.Join(t.TempDir(), "add.onnx")
	if err := onnxpb.WriteFile(path, m, onnxpb.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGraph: a graph runs over Go slices in place, again after the input
// changes; bad tensors are input errors; a closed graph says so.
func TestGraph(t *testing.T) {
	rt := requireORT(t)
	path := writeAddGraph(t)
	x, y := []float32{1, 2}, make([]float32, 2)
	g, err := rt.NewGraph(path, []Tensor{{Name: "x", Shape: []int64{2}, Data: x}}, []Tensor{{Name: "y", Shape: []int64{2}, Data: y}}, GraphOptions{Threads: 1, Spinning: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := g.Run(ctx); err != nil || y[0] != 11 || y[1] != 22 {
		t.Fatalf("run: %v, y = %v; want [11 22]", err, y)
	}
	x[0] = 5
	if err := g.Run(ctx); err != nil || y[0] != 15 {
		t.Errorf("after x[0] = 5: %v, y = %v; want 15 first", err, y)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Run(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Run(ctx); err == nil {
		t.Error("run after Close: no error")
	}
	for name, in := range map[string]Tensor{
		"data type": {Name: "x", Shape: []int64{2}, Data: []float64{1, 2}},
		"too short": {Name: "x", Shape: []int64{3}, Data: []float32{1, 2}},
	} {
		_, err := rt.NewGraph(path, []Tensor{in}, []Tensor{{Name: "y", Shape: []int64{2}, Data: y}}, GraphOptions{Threads: 1})
		if !errors.Is(err, scorer.ErrInvalidInput) {
			t.Errorf("%s: %v, want an input error", name, err)
		}
	}
	// A name the graph does not have fails at the latest on the first run.
	g, err = rt.NewGraph(path, []Tensor{{Name: "nope", Shape: []int64{2}, Data: x}}, []Tensor{{Name: "y", Shape: []int64{2}, Data: y}}, GraphOptions{Threads: 1})
	if err == nil {
		err = g.Run(ctx)
		g.Close()
	}
	if err == nil {
		t.Error("an input the graph does not have: no error")
	}
}

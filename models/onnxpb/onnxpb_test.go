package onnxpb_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/models/onnxpb"
)

func TestWriteReadRoundTrip(t *testing.T) {
	m := &onnxpb.Model{
		IRVersion: 7,
		Opsets:    []onnxpb.Opset{{Version: 12}},
		Graph: onnxpb.Graph{
			Name: "g",
			Nodes: []onnxpb.Node{
				{Name: "n", OpType: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: []onnxpb.Attr{onnxpb.IntsAttr("axes", -1, 2), onnxpb.FloatAttr("f", 0.5)}},
				{Name: "m", OpType: "Attention", Domain: "com.microsoft", Inputs: []string{"y"}, Outputs: []string{"z"}},
			},
			Initializers: []*onnxpb.Tensor{{Name: "w", DataType: onnxpb.Float, Dims: []int64{16, 16}, Load: func() ([]byte, error) { return make([]byte, 1024), nil }}},
			Inputs:       []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "batch"}, {Value: 3}}}},
			Outputs:      []onnxpb.ValueInfo{{Name: "z", ElemType: onnxpb.Float16}},
		},
	}
	for _, external := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "m.onnx")
		opts := onnxpb.WriteOptions{}
		if external {
			opts.ExternalDataThreshold = -1
		}
		if err := onnxpb.WriteFile(path, m, opts); err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(path + ".data")
		if external != (statErr == nil) {
			t.Errorf("external=%v but data file stat: %v", external, statErr)
		}
		got, err := onnxpb.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		g := got.Graph
		if got.IRVersion != 7 || len(got.Opsets) != 1 || got.Opsets[0].Version != 12 || g.Name != "g" {
			t.Errorf("header %+v", got)
		}
		if len(g.Nodes) != 2 || g.Nodes[0].Attrs[0].Ints[1] != 2 || g.Nodes[0].Attrs[1].F != 0.5 || g.Nodes[1].Domain != "com.microsoft" {
			t.Errorf("nodes %+v", g.Nodes)
		}
		if c := g.OpCounts(); c["Add"] != 1 || c["com.microsoft.Attention"] != 1 {
			t.Errorf("counts %v", c)
		}
		if len(g.Initializers) != 1 || g.Initializers[0].Dims[1] != 16 || g.Initializers[0].DataType != onnxpb.Float {
			t.Errorf("initializers %+v", g.Initializers[0])
		}
		if len(g.Inputs) != 1 || g.Inputs[0].Shape[0].Param != "batch" || g.Inputs[0].Shape[1].Value != 3 || g.Outputs[0].ElemType != onnxpb.Float16 || g.Outputs[0].Shape != nil {
			t.Errorf("io %+v %+v", g.Inputs, g.Outputs)
		}
	}
}

func TestWriteRejectsWrongDataSize(t *testing.T) {
	m := &onnxpb.Model{Graph: onnxpb.Graph{Initializers: []*onnxpb.Tensor{{Name: "w", DataType: onnxpb.Float, Dims: []int64{2}, Raw: []byte{1}}}}}
	err := onnxpb.WriteFile(filepath.Join(t.TempDir(), "m.onnx"), m, onnxpb.WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "tensor w: 1 bytes") {
		t.Errorf("err = %v", err)
	}
}

func TestReadRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.onnx")
	os.WriteFile(path, []byte("\x3a\xff\xff\xff\x0fshort"), 0o644)
	if _, err := onnxpb.ReadFile(path); err == nil || !strings.Contains(err.Error(), "not a readable ONNX model") {
		t.Errorf("err = %v", err)
	}
}

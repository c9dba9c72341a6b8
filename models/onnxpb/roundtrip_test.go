package onnxpb_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

// TestRoundTripTorchExports reads each fixture's model.onnx (exported by
// torch: Constant nodes with tensor attributes, unpacked dims), writes it
// back inline and as external data, and checks that nothing is lost: the
// re-read model equals the original field by field and tensor byte by
// tensor byte, writing is a fixpoint, and ONNX Runtime computes the very
// same hidden states from the rewritten file.
func TestRoundTripTorchExports(t *testing.T) {
	orttest.Require(t)
	for _, fixture := range []string{"tiny-mbert", "tiny-bert-uncased", "tiny-roberta"} {
		t.Run(fixture, func(t *testing.T) {
			src := filepath.Join("..", "..", "testdata", "bertscore", fixture, "model.onnx")
			orig, err := onnxpb.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if n := countTensorAttrs(orig); n == 0 {
				t.Fatalf("fixture has no tensor attributes: the test no longer covers the reported panic")
			}
			dir := t.TempDir()
			inline := filepath.Join(dir, "inline.onnx")
			if err := onnxpb.WriteFile(inline, orig, onnxpb.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			external := filepath.Join(dir, "external.onnx")
			if err := onnxpb.WriteFile(external, orig, onnxpb.WriteOptions{ExternalDataThreshold: -1}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(external + ".data"); err != nil {
				t.Fatalf("external data file: %v", err)
			}
			for _, path := range []string{inline, external} {
				got, err := onnxpb.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				assertSameModel(t, filepath.Base(path), orig, got)
				again := filepath.Join(dir, "again.onnx")
				if err := onnxpb.WriteFile(again, got, onnxpb.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				if a, b := readBytes(t, inline), readBytes(t, again); !bytes.Equal(a, b) {
					t.Errorf("%s: writing what was read is not a fixpoint (%d vs %d bytes)", filepath.Base(path), len(a), len(b))
				}
				want, have := runHidden(t, src, orig), runHidden(t, path, got)
				if !reflect.DeepEqual(want, have) {
					t.Errorf("%s: ONNX Runtime output differs from the original model's", filepath.Base(path))
				}
			}
		})
	}
}

// TestWriteFileOverItsSource writes a model read with ReadFile back over
// the very file (and external data file) its tensors are loaded from.
func TestWriteFileOverItsSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	w := make([]byte, 4096)
	for i := range w {
		w[i] = byte(i)
	}
	m := &onnxpb.Model{IRVersion: 8, Graph: onnxpb.Graph{Initializers: []*onnxpb.Tensor{{Name: "w", DataType: onnxpb.Float, Dims: []int64{1024}, Raw: w}}}}
	for _, threshold := range []int64{-1, -1, 0, -1} {
		if err := onnxpb.WriteFile(path, m, onnxpb.WriteOptions{ExternalDataThreshold: threshold}); err != nil {
			t.Fatal(err)
		}
		var err error
		if m, err = onnxpb.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		data, err := m.Graph.Initializers[0].Data()
		if err != nil || !bytes.Equal(data, w) {
			t.Fatalf("threshold %d: data lost (%v)", threshold, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("leftover files: %v", entries)
	}
}

func TestWriteRefusesWhatItCannotWrite(t *testing.T) {
	tests := []struct {
		name string
		m    *onnxpb.Model
		want string
	}{
		{"nil tensor attribute", &onnxpb.Model{Graph: onnxpb.Graph{Nodes: []onnxpb.Node{{OpType: "Constant", Attrs: []onnxpb.Attr{{Name: "value", Type: onnxpb.AttrTensor}}}}}}, `attribute "value": tensor attribute has no tensor`},
		{"graph attribute", &onnxpb.Model{Graph: onnxpb.Graph{Nodes: []onnxpb.Node{{OpType: "If", Attrs: []onnxpb.Attr{{Name: "then_branch", Type: 5}}}}}}, "attribute type 5 is not supported"},
		{"nil initializer", &onnxpb.Model{Graph: onnxpb.Graph{Initializers: []*onnxpb.Tensor{nil}}}, "initializer is nil"},
		{"string tensor", &onnxpb.Model{Graph: onnxpb.Graph{Initializers: []*onnxpb.Tensor{{Name: "s", DataType: 8, Dims: []int64{1}}}}}, "element type type(8) is not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := onnxpb.WriteFile(filepath.Join(t.TempDir(), "m.onnx"), tc.m, onnxpb.WriteOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func countTensorAttrs(m *onnxpb.Model) int {
	n := 0
	for _, node := range m.Graph.Nodes {
		for _, a := range node.Attrs {
			if a.Type == onnxpb.AttrTensor {
				n++
			}
		}
	}
	return n
}

// assertSameModel compares everything the package models, tensor data
// included.
func assertSameModel(t *testing.T, label string, want, got *onnxpb.Model) {
	t.Helper()
	if want.IRVersion != got.IRVersion || want.ProducerName != got.ProducerName || want.ProducerVersion != got.ProducerVersion ||
		!reflect.DeepEqual(want.Opsets, got.Opsets) || !reflect.DeepEqual(want.Metadata, got.Metadata) {
		t.Errorf("%s: header %+v, want %+v", label, got, want)
	}
	wg, gg := want.Graph, got.Graph
	if wg.Name != gg.Name || !reflect.DeepEqual(wg.Inputs, gg.Inputs) || !reflect.DeepEqual(wg.Outputs, gg.Outputs) {
		t.Errorf("%s: graph name/inputs/outputs differ", label)
	}
	if len(wg.Nodes) != len(gg.Nodes) {
		t.Fatalf("%s: %d nodes, want %d", label, len(gg.Nodes), len(wg.Nodes))
	}
	for i := range wg.Nodes {
		wn, gn := wg.Nodes[i], gg.Nodes[i]
		if wn.Name != gn.Name || wn.OpType != gn.OpType || wn.Domain != gn.Domain || !reflect.DeepEqual(wn.Inputs, gn.Inputs) ||
			!reflect.DeepEqual(wn.Outputs, gn.Outputs) || len(wn.Attrs) != len(gn.Attrs) {
			t.Fatalf("%s: node %d is %+v, want %+v", label, i, gn, wn)
		}
		for j := range wn.Attrs {
			wa, ga := wn.Attrs[j], gn.Attrs[j]
			wt, gt := wa.T, ga.T
			wa.T, ga.T = nil, nil
			if !reflect.DeepEqual(wa, ga) || (wt == nil) != (gt == nil) {
				t.Fatalf("%s: node %d attribute %d is %+v, want %+v", label, i, j, ga, wa)
			}
			if wt != nil {
				assertSameTensor(t, label, wt, gt)
			}
		}
	}
	if len(wg.Initializers) != len(gg.Initializers) {
		t.Fatalf("%s: %d initializers, want %d", label, len(gg.Initializers), len(wg.Initializers))
	}
	for i := range wg.Initializers {
		assertSameTensor(t, label, wg.Initializers[i], gg.Initializers[i])
	}
}

func assertSameTensor(t *testing.T, label string, want, got *onnxpb.Tensor) {
	t.Helper()
	if want.Name != got.Name || want.DataType != got.DataType || !reflect.DeepEqual(want.Dims, got.Dims) {
		t.Fatalf("%s: tensor %s %v %v, want %s %v %v", label, got.Name, got.DataType, got.Dims, want.Name, want.DataType, want.Dims)
	}
	wd, err := want.Data()
	if err != nil {
		t.Fatal(err)
	}
	gd, err := got.Data()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wd, gd) {
		t.Fatalf("%s: tensor %s data differs", label, want.Name)
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runHidden runs the encoder at path on a fixed batch (two sentences,
// the second padded with id 1) through an onnxrt encoder on the CPU and
// returns its output.
func runHidden(t *testing.T, path string, _ *onnxpb.Model) []float32 {
	t.Helper()
	e := orttest.Encoder(t, path, onnxrt.EncoderOptions{Threads: 1})
	h, err := e.Encode(context.Background(), scorer.Batch{IDs: [][]int32{{2, 5, 7, 9, 11, 3}, {2, 6, 8, 3}}, Pad: 1})
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), h.Data...)
}

// TestLoadFromAReplacedFile: a model read with ReadFile, whose file is then
// replaced by another layout, must refuse to load its tensors rather than
// read other bytes at the old offsets.
func TestLoadFromAReplacedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	m := &onnxpb.Model{IRVersion: 8, Graph: onnxpb.Graph{Initializers: []*onnxpb.Tensor{{Name: "w", DataType: onnxpb.Float, Dims: []int64{1024}, Raw: make([]byte, 4096)}}}}
	if err := onnxpb.WriteFile(path, m, onnxpb.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	read, err := onnxpb.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same model written with its data outside: model.onnx is replaced.
	if err := onnxpb.WriteFile(path, read, onnxpb.WriteOptions{ExternalDataThreshold: -1}); err != nil {
		t.Fatal(err)
	}
	_, err = read.Graph.Initializers[0].Data()
	if err == nil || !strings.Contains(err.Error(), "replaced or changed after the model was read") {
		t.Errorf("loading from the replaced file: err = %v", err)
	}
}

package onnxpb_test

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/bertbench/bertbench/models/onnxpb"
)

// FuzzRead decodes arbitrary bytes as an ONNX model and writes what it
// read back: errors, never panics or runaway allocations.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	m := &onnxpb.Model{IRVersion: 7, Opsets: []onnxpb.Opset{{Version: 12}}, Graph: onnxpb.Graph{
		Nodes:        []onnxpb.Node{{OpType: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: []onnxpb.Attr{onnxpb.IntsAttr("axes", 1)}}},
		Initializers: []*onnxpb.Tensor{{Name: "w", DataType: onnxpb.Float, Dims: []int64{2}, Raw: make([]byte, 8)}},
		Inputs:       []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "b"}, {Value: 2}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
	}}
	if err := onnxpb.Write(&buf, m); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnxpb.Read(bufio.NewReader(bytes.NewReader(data)), int64(len(data)))
		if err != nil {
			return
		}
		_ = onnxpb.Write(io.Discard, m)
	})
}

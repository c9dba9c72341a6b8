// Package onnxpb writes and reads the few ONNX protobuf messages bertbench
// needs (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto,
// TypeProto, AttributeProto, OperatorSetIdProto), encoded field by field with
// protowire. Field numbers follow onnx/onnx.proto.
//
// Writing streams: initializer data is produced one tensor at a time by its
// Load function, so a model much larger than memory headroom can be written.
package onnxpb

import (
	"fmt"

	"github.com/bertbench/bertbench/modelspec"
)

// DataType is TensorProto.DataType.
type DataType int32

// The element types bertbench uses.
const (
	Float    DataType = 1
	Uint8    DataType = 2
	Int8     DataType = 3
	Int32    DataType = 6
	Int64    DataType = 7
	Bool     DataType = 9
	Float16  DataType = 10
	Double   DataType = 11
	BFloat16 DataType = 16
)

// Size returns the element size in bytes (0 when unknown).
func (d DataType) Size() int {
	switch d {
	case Float, Int32:
		return 4
	case Int64, Double:
		return 8
	case Float16, BFloat16:
		return 2
	case Uint8, Int8, Bool:
		return 1
	}
	return 0
}

// String names the type as ONNX does ("float", "int64", ...).
func (d DataType) String() string {
	switch d {
	case Float:
		return "float"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Double:
		return "double"
	case BFloat16:
		return "bfloat16"
	}
	return "type(" + itoa(int64(d)) + ")"
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Model is a ModelProto with one graph.
type Model struct {
	IRVersion       int64
	Opsets          []Opset
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           Graph
	// Metadata holds metadata_props (key/value strings).
	Metadata map[string]string

	// external lists the external data files the initializers name, as
	// read (see ExternalFiles).
	external []string
}

// ExternalFiles lists the external data files the model's initializers
// name (their "location", relative to the model file's folder), each once,
// in the order first named; nil when every weight is inline. It is set by
// ReadFile and Read.
func (m *Model) ExternalFiles() []string { return m.external }

// Opset is an OperatorSetIdProto.
type Opset struct {
	Domain  string
	Version int64
}

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []*Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is a NodeProto.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute kinds used here.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Attr is an AttributeProto.
type Attr struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// IntAttr, FloatAttr, IntsAttr, StringAttr and TensorAttr build attributes.
func IntAttr(name string, v int64) Attr { return Attr{Name: name, Type: AttrInt, I: v} }

// FloatAttr builds a float attribute.
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, Type: AttrFloat, F: v} }

// IntsAttr builds an ints attribute.
func IntsAttr(name string, v ...int64) Attr { return Attr{Name: name, Type: AttrInts, Ints: v} }

// StringAttr builds a string attribute.
func StringAttr(name, v string) Attr { return Attr{Name: name, Type: AttrString, S: v} }

// TensorAttr builds a tensor attribute.
func TensorAttr(name string, t *Tensor) Attr { return Attr{Name: name, Type: AttrTensor, T: t} }

// Tensor is a TensorProto holding its data as raw little-endian bytes.
type Tensor struct {
	Name     string
	DataType DataType
	Dims     []int64
	// Raw holds the data when it is already in memory.
	Raw []byte
	// Load produces the data when Raw is nil; it is called once, while the
	// tensor is written, so only one tensor's data need be in memory.
	Load func() ([]byte, error)
}

// Data returns the tensor's bytes (Raw, or what Load produces), checking
// that their length fits the type and shape.
func (t *Tensor) Data() ([]byte, error) {
	if t.DataType.Size() == 0 {
		return nil, fmt.Errorf("tensor %s: element type %s is not supported", t.Name, t.DataType)
	}
	raw := t.Raw
	if raw == nil && t.Load != nil {
		var err error
		raw, err = t.Load()
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
	}
	if int64(len(raw)) != t.ByteSize() {
		return nil, fmt.Errorf("tensor %s: %d bytes of data for shape %v of %s (want %d)", t.Name, len(raw), t.Dims, t.DataType, t.ByteSize())
	}
	return raw, nil
}

// NumElements is the product of Dims (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// ByteSize is the size of the tensor's raw data.
func (t *Tensor) ByteSize() int64 { return t.NumElements() * int64(t.DataType.Size()) }

// ValueInfo is a ValueInfoProto for a tensor.
type ValueInfo struct {
	Name     string
	ElemType DataType
	// Shape lists the dimensions; Shape == nil means unknown rank.
	Shape []Dim
}

// Dim is a TensorShapeProto.Dimension: Value when Param is empty.
type Dim struct {
	Value int64
	Param string
}

// String writes the dimension as it reads in messages ("batch" or "768").
func (d Dim) String() string {
	if d.Param != "" {
		return d.Param
	}
	if d.Value <= 0 {
		return "?"
	}
	return itoa(d.Value)
}

// FedInputs returns the graph's inputs that are fed at run time, leaving
// out the weights (initializers) that old exporters list as inputs too.
func (g *Graph) FedInputs() []ValueInfo {
	weights := make(map[string]bool, len(g.Initializers))
	for _, t := range g.Initializers {
		weights[t.Name] = true
	}
	var out []ValueInfo
	for _, v := range g.Inputs {
		if !weights[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// Describe describes the graph's fed inputs (see FedInputs) and its
// outputs as modelspec.Check takes them.
func (g *Graph) Describe() (inputs, outputs []modelspec.Value) {
	return specValues(g.FedInputs()), specValues(g.Outputs)
}

func specValues(vs []ValueInfo) []modelspec.Value {
	out := make([]modelspec.Value, len(vs))
	for i, v := range vs {
		out[i] = modelspec.Value{Name: v.Name, Type: modelspec.DataType(v.ElemType)}
		if v.Shape != nil {
			out[i].Shape = make([]modelspec.Dim, len(v.Shape))
			for k, d := range v.Shape {
				out[i].Shape[k] = modelspec.Dim{Value: d.Value, Param: d.Param}
			}
		}
	}
	return out
}

package modelspec

import (
	"fmt"
	"strconv"
	"strings"
)

// The names of the encoder graph's inputs and output.
const (
	// InputIDs holds the token ids, [batch, sequence], padded.
	InputIDs = "input_ids"
	// AttentionMask is 1 over the tokens and 0 over the padding.
	AttentionMask = "attention_mask"
	// TokenTypeIDs is optional (BERT has it); it is fed zeros.
	TokenTypeIDs = "token_type_ids"
	// HiddenStates is the output: one vector per token, [batch, sequence,
	// hidden].
	HiddenStates = "last_hidden_state"
)

// Contract says in words what Check wants.
const Contract = "inputs " + InputIDs + " and " + AttentionMask + ", optionally " + TokenTypeIDs +
	", each int64 or int32 [batch, sequence], and no other input; an output " + HiddenStates +
	", float32 [batch, sequence, hidden]"

// DataType is an ONNX tensor element type, numbered as in onnx.proto's
// TensorProto.DataType (ONNX Runtime numbers its element types the same).
type DataType int32

// The element types.
const (
	// Undefined marks a value that is not a tensor (a sequence, a map, an
	// optional).
	Undefined  DataType = 0
	Float      DataType = 1
	Uint8      DataType = 2
	Int8       DataType = 3
	Uint16     DataType = 4
	Int16      DataType = 5
	Int32      DataType = 6
	Int64      DataType = 7
	String     DataType = 8
	Bool       DataType = 9
	Float16    DataType = 10
	Double     DataType = 11
	Uint32     DataType = 12
	Uint64     DataType = 13
	Complex64  DataType = 14
	Complex128 DataType = 15
	BFloat16   DataType = 16
)

var typeNames = [...]string{"not a tensor", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
	"string", "bool", "float16", "float64", "uint32", "uint64", "complex64", "complex128", "bfloat16"}

// String names the type ("float32", "int64", ...).
func (d DataType) String() string {
	if d >= 0 && int(d) < len(typeNames) {
		return typeNames[d]
	}
	return "type(" + strconv.Itoa(int(d)) + ")"
}

// Dim is one dimension of a shape: Value when Param is empty, else the
// symbolic dimension Param. A Value of 0 or less without a Param is
// unknown.
type Dim struct {
	Value int64
	Param string
}

// String writes the dimension as messages show it ("batch", "768", "?").
func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value <= 0:
		return "?"
	}
	return strconv.FormatInt(d.Value, 10)
}

// Value describes one graph input or output as the graph declares it.
type Value struct {
	Name string
	// Type is the element type of a tensor, Undefined for a value that is
	// not a tensor.
	Type DataType
	// Shape lists the dimensions; nil means the rank is unknown.
	Shape []Dim
}

func (v Value) describe() string {
	if v.Type == Undefined {
		return "not a tensor"
	}
	return v.Type.String() + " " + shapeString(v.Shape)
}

func shapeString(s []Dim) string {
	if s == nil {
		return "[unknown rank]"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Input is one input the scorer feeds, with its element type.
type Input struct {
	Name string
	Type DataType // Int64 or Int32
}

// Signature is how a graph that meets the contract is fed and what it
// gives.
type Signature struct {
	// Inputs are the inputs to feed: input_ids, attention_mask, then
	// token_type_ids when the graph has it.
	Inputs []Input
	// TokenTypeIDs reports whether the graph takes token_type_ids.
	TokenTypeIDs bool
	// Output is the hidden-state output's name (HiddenStates) and
	// OutputType its element type (Float).
	Output     string
	OutputType DataType
	// HiddenSize is the output's last dimension, 0 when symbolic.
	HiddenSize int64
}

// MismatchError lists every way a graph misses the contract.
type MismatchError struct {
	Problems []string
}

func (e *MismatchError) Error() string {
	return "does not fit as a BERTScore encoder (want " + Contract + "): " + strings.Join(e.Problems, "; ")
}

// Check checks a graph's inputs and outputs against the contract and says
// how to feed it. inputs must leave out the weights that old exporters
// list as graph inputs. An unknown rank is let through (the run checks
// the output's shape); a known one must be right. The error, a
// *MismatchError, lists every mismatch.
func Check(inputs, outputs []Value) (*Signature, error) {
	var problems []string
	sig := &Signature{}
	have := map[string]Value{}
	for _, in := range inputs {
		switch in.Name {
		case InputIDs, AttentionMask, TokenTypeIDs:
			have[in.Name] = in
		default:
			problems = append(problems, fmt.Sprintf("unexpected input %q (%s): bertbench feeds only %s, %s and %s", in.Name, in.describe(), InputIDs, AttentionMask, TokenTypeIDs))
		}
	}
	for _, name := range []string{InputIDs, AttentionMask, TokenTypeIDs} {
		in, ok := have[name]
		switch {
		case !ok:
			if name != TokenTypeIDs {
				problems = append(problems, fmt.Sprintf("missing input %q (int64 or int32 [batch, sequence])", name))
			}
			continue
		case in.Type != Int64 && in.Type != Int32:
			problems = append(problems, fmt.Sprintf("input %q is %s, want int64 or int32", name, in.describe()))
			continue
		case in.Shape != nil && len(in.Shape) != 2:
			problems = append(problems, fmt.Sprintf("input %q has shape %s, want [batch, sequence]", name, shapeString(in.Shape)))
			continue
		}
		sig.Inputs = append(sig.Inputs, Input{Name: name, Type: in.Type})
		if name == TokenTypeIDs {
			sig.TokenTypeIDs = true
		}
	}
	var out *Value
	names := make([]string, len(outputs))
	for i := range outputs {
		names[i] = strconv.Quote(outputs[i].Name)
		if outputs[i].Name == HiddenStates {
			out = &outputs[i]
		}
	}
	switch {
	case out == nil:
		problems = append(problems, fmt.Sprintf("no output %q among %d output(s) (%s): export the encoder's hidden states under that name", HiddenStates, len(outputs), strings.Join(names, ", ")))
	case out.Type == Float16 || out.Type == BFloat16:
		problems = append(problems, fmt.Sprintf("output %q is %s, want float32: cast it to float32 at the end of the graph (as `bertbench models import --fp16` does)", out.Name, out.describe()))
	case out.Type != Float:
		problems = append(problems, fmt.Sprintf("output %q is %s, want float32", out.Name, out.describe()))
	case out.Shape != nil && len(out.Shape) != 3:
		problems = append(problems, fmt.Sprintf("output %q has shape %s, want [batch, sequence, hidden] (a pooled or per-sentence output cannot be used for BERTScore)", out.Name, shapeString(out.Shape)))
	default:
		sig.Output, sig.OutputType = out.Name, out.Type
		if len(out.Shape) == 3 && out.Shape[2].Param == "" && out.Shape[2].Value > 0 {
			sig.HiddenSize = out.Shape[2].Value
		}
	}
	if len(problems) > 0 {
		return nil, &MismatchError{Problems: problems}
	}
	return sig, nil
}

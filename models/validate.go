package models

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bertbench/bertbench/models/onnxpb"
)

// Signature is what a model.onnx offers the scorer, read statically from
// the file (no ONNX Runtime needed).
type Signature struct {
	// TokenTypeIDs is true when the graph takes token_type_ids (fed zeros).
	TokenTypeIDs bool
	// Output is the name of the hidden-state output.
	Output string
	// OutputType is the output's element type (float or float16).
	OutputType onnxpb.DataType
	// HiddenSize is the output's last dimension, 0 when symbolic.
	HiddenSize int64
	// Opsets lists the model's operator sets ("ai.onnx"=12, ...).
	Opsets []onnxpb.Opset
}

// ValidateONNX reads dir/model.onnx and checks it can serve as a BERTScore
// encoder: inputs input_ids and attention_mask (int64, [batch, sequence]),
// optionally token_type_ids, and nothing else; an output
// last_hidden_state (or a single output) of float or float16 with shape
// [batch, sequence, hidden]. The error lists every mismatch.
func ValidateONNX(dir string) (*Signature, error) {
	path := filepath.Join(dir, ONNXFile)
	m, err := onnxpb.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return CheckSignature(path, &m.Graph)
}

// CheckSignature checks a graph's inputs and outputs (see ValidateONNX);
// name labels the error messages.
func CheckSignature(name string, g *onnxpb.Graph) (*Signature, error) {
	var problems []string
	sig := &Signature{}
	initializers := map[string]bool{}
	for _, t := range g.Initializers {
		initializers[t.Name] = true
	}
	seen := map[string]bool{}
	for _, in := range g.Inputs {
		if initializers[in.Name] {
			continue // old exporters list weights as inputs
		}
		seen[in.Name] = true
		switch in.Name {
		case "input_ids", "attention_mask", "token_type_ids":
			if in.ElemType != onnxpb.Int64 {
				problems = append(problems, fmt.Sprintf("input %q is %s, want int64", in.Name, in.ElemType))
			}
			if in.Shape != nil && len(in.Shape) != 2 {
				problems = append(problems, fmt.Sprintf("input %q has shape %s, want [batch, sequence]", in.Name, shapeString(in.Shape)))
			}
			if in.Name == "token_type_ids" {
				sig.TokenTypeIDs = true
			}
		default:
			problems = append(problems, fmt.Sprintf("unexpected input %q (%s %s): bertbench feeds only input_ids, attention_mask and token_type_ids", in.Name, in.ElemType, shapeString(in.Shape)))
		}
	}
	for _, want := range []string{"input_ids", "attention_mask"} {
		if !seen[want] {
			problems = append(problems, fmt.Sprintf("missing input %q (int64 [batch, sequence])", want))
		}
	}
	var out *onnxpb.ValueInfo
	for i := range g.Outputs {
		if g.Outputs[i].Name == "last_hidden_state" {
			out = &g.Outputs[i]
		}
	}
	if out == nil && len(g.Outputs) == 1 {
		out = &g.Outputs[0]
	}
	if out == nil {
		var names []string
		for _, o := range g.Outputs {
			names = append(names, fmt.Sprintf("%q", o.Name))
		}
		problems = append(problems, fmt.Sprintf("no output \"last_hidden_state\" among %d outputs (%s): export the encoder's hidden states as last_hidden_state", len(g.Outputs), strings.Join(names, ", ")))
	} else {
		sig.Output, sig.OutputType = out.Name, out.ElemType
		if out.ElemType != onnxpb.Float && out.ElemType != onnxpb.Float16 {
			problems = append(problems, fmt.Sprintf("output %q is %s, want float or float16", out.Name, out.ElemType))
		}
		if out.Shape != nil && len(out.Shape) != 3 {
			problems = append(problems, fmt.Sprintf("output %q has shape %s, want [batch, sequence, hidden] (a pooled or per-sentence output cannot be used for BERTScore)", out.Name, shapeString(out.Shape)))
		} else if len(out.Shape) == 3 && out.Shape[2].Param == "" {
			sig.HiddenSize = out.Shape[2].Value
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s does not fit as a BERTScore encoder:\n  - %s", name, strings.Join(problems, "\n  - "))
	}
	return sig, nil
}

func shapeString(s []onnxpb.Dim) string {
	if s == nil {
		return "[unknown rank]"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

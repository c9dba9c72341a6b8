package modelspec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/modelspec"
)

func TestCheck(t *testing.T) {
	dyn := []modelspec.Dim{{Param: "batch"}, {Param: "sequence"}}
	ids := func(name string, typ modelspec.DataType) modelspec.Value {
		return modelspec.Value{Name: name, Type: typ, Shape: dyn}
	}
	hidden := func(name string, typ modelspec.DataType, shape ...modelspec.Dim) modelspec.Value {
		return modelspec.Value{Name: name, Type: typ, Shape: shape}
	}
	h768 := []modelspec.Dim{{Param: "batch"}, {Param: "sequence"}, {Value: 768}}
	std := []modelspec.Value{ids("input_ids", modelspec.Int64), ids("attention_mask", modelspec.Int64)}
	tests := []struct {
		name    string
		inputs  []modelspec.Value
		outputs []modelspec.Value
		want    *modelspec.Signature // nil: an error
		errs    []string
	}{
		{
			name:    "fits",
			inputs:  std,
			outputs: []modelspec.Value{hidden("last_hidden_state", modelspec.Float, h768...)},
			want: &modelspec.Signature{Inputs: []modelspec.Input{{"input_ids", modelspec.Int64}, {"attention_mask", modelspec.Int64}},
				Output: "last_hidden_state", OutputType: modelspec.Float, HiddenSize: 768},
		},
		{
			name: "int32 ids, token types, inputs in another order, an extra output",
			inputs: []modelspec.Value{ids("token_type_ids", modelspec.Int32), ids("attention_mask", modelspec.Int32),
				ids("input_ids", modelspec.Int32)},
			outputs: []modelspec.Value{hidden("pooler_output", modelspec.Float, modelspec.Dim{Param: "batch"}, modelspec.Dim{Value: 768}),
				hidden("last_hidden_state", modelspec.Float, modelspec.Dim{Param: "batch"}, modelspec.Dim{Param: "sequence"}, modelspec.Dim{Param: "hidden"})},
			want: &modelspec.Signature{Inputs: []modelspec.Input{{"input_ids", modelspec.Int32}, {"attention_mask", modelspec.Int32}, {"token_type_ids", modelspec.Int32}},
				TokenTypeIDs: true, Output: "last_hidden_state", OutputType: modelspec.Float},
		},
		{
			name:    "unknown ranks",
			inputs:  []modelspec.Value{{Name: "input_ids", Type: modelspec.Int64}, {Name: "attention_mask", Type: modelspec.Int64}},
			outputs: []modelspec.Value{{Name: "last_hidden_state", Type: modelspec.Float}},
			want: &modelspec.Signature{Inputs: []modelspec.Input{{"input_ids", modelspec.Int64}, {"attention_mask", modelspec.Int64}},
				Output: "last_hidden_state", OutputType: modelspec.Float},
		},
		{
			name:    "a single output of another name",
			inputs:  std,
			outputs: []modelspec.Value{hidden("hidden", modelspec.Float, h768...)},
			errs:    []string{`no output "last_hidden_state" among 1 output(s) ("hidden")`},
		},
		{
			name:    "float16 output",
			inputs:  std,
			outputs: []modelspec.Value{hidden("last_hidden_state", modelspec.Float16, h768...)},
			errs:    []string{`output "last_hidden_state" is float16 [batch, sequence, 768], want float32: cast it`},
		},
		{
			name:    "pooled output",
			inputs:  std,
			outputs: []modelspec.Value{hidden("last_hidden_state", modelspec.Float, modelspec.Dim{Param: "batch"}, modelspec.Dim{Value: 768})},
			errs:    []string{`output "last_hidden_state" has shape [batch, 768], want [batch, sequence, hidden]`},
		},
		{
			name: "every mismatch at once",
			inputs: []modelspec.Value{ids("input_ids", modelspec.Float), ids("position_ids", modelspec.Int64),
				{Name: "token_type_ids", Type: modelspec.Int64, Shape: []modelspec.Dim{{Param: "batch"}}}, {Name: "state"}},
			outputs: []modelspec.Value{hidden("pooler_output", modelspec.Float), hidden("logits", modelspec.Float)},
			errs: []string{`input "input_ids" is float32 [batch, sequence], want int64 or int32`, `unexpected input "position_ids" (int64 [batch, sequence])`,
				`unexpected input "state" (not a tensor)`, `input "token_type_ids" has shape [batch], want [batch, sequence]`,
				`missing input "attention_mask"`, `no output "last_hidden_state" among 2 output(s) ("pooler_output", "logits")`},
		},
		{
			name:    "int8 output",
			inputs:  std,
			outputs: []modelspec.Value{hidden("last_hidden_state", modelspec.Int8, h768...)},
			errs:    []string{`output "last_hidden_state" is int8 [batch, sequence, 768], want float32`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := modelspec.Check(tc.inputs, tc.outputs)
			if tc.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if !equalSig(sig, tc.want) {
					t.Errorf("signature %+v, want %+v", sig, tc.want)
				}
				return
			}
			var me *modelspec.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("error %v, want a *MismatchError", err)
			}
			if len(me.Problems) != len(tc.errs) {
				t.Errorf("%d problems, want %d: %q", len(me.Problems), len(tc.errs), me.Problems)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tc.errs {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

func equalSig(a, b *modelspec.Signature) bool {
	if len(a.Inputs) != len(b.Inputs) {
		return false
	}
	for i := range a.Inputs {
		if a.Inputs[i] != b.Inputs[i] {
			return false
		}
	}
	return a.TokenTypeIDs == b.TokenTypeIDs && a.Output == b.Output && a.OutputType == b.OutputType && a.HiddenSize == b.HiddenSize
}

func TestDataTypeString(t *testing.T) {
	for typ, want := range map[modelspec.DataType]string{
		modelspec.Float: "float32", modelspec.Int64: "int64", modelspec.Int32: "int32", modelspec.Float16: "float16",
		modelspec.Undefined: "not a tensor", 99: "type(99)", -1: "type(-1)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("DataType(%d) = %q, want %q", int32(typ), got, want)
		}
	}
}

package modelspec_test

import (
	"strings"
	"testing"

	"github.com/bertbench/bertbench/modelspec"
)

func TestParsePrecision(t *testing.T) {
	tests := []struct {
		in      string
		want    modelspec.Precision
		wantErr string
	}{
		{"", modelspec.FP32, ""},
		{"fp32", modelspec.FP32, ""},
		{"fp16", modelspec.FP16, ""},
		{"int8", modelspec.INT8, ""},
		{"tf32", "", `unknown precision "tf32" (want fp32, fp16 or int8)`},
		{"INT8", "", "unknown precision"},
	}
	for _, tc := range tests {
		got, err := modelspec.ParsePrecision(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestPrecisionBoundsAndSuffixes: every build precision declares a
// bound, fp32's the parity bound and the others looser; each lower
// precision has its own name suffix.
func TestPrecisionBoundsAndSuffixes(t *testing.T) {
	if modelspec.FP32.Bound() != 1e-5 || modelspec.FP32.Suffix() != "" {
		t.Errorf("fp32: bound %g, suffix %q; want 1e-5 and none", modelspec.FP32.Bound(), modelspec.FP32.Suffix())
	}
	seen := map[string]bool{}
	for _, p := range modelspec.Precisions[1:] {
		if p.Bound() <= modelspec.BoundFP32 {
			t.Errorf("%s: bound %g, want more than fp32's", p, p.Bound())
		}
		if s := p.Suffix(); s != "-"+string(p) || seen[s] {
			t.Errorf("%s: suffix %q", p, s)
		}
		seen[p.Suffix()] = true
	}
	if modelspec.Precision("bf16").Bound() != 0 {
		t.Error("an unknown precision declares a bound")
	}
}

// TestPrecisionNameAndTrim: Name adds a precision's suffix unless the
// name already ends with it; TrimPrecisionSuffix drops any build
// precision's suffix (what the fp32 model is named).
func TestPrecisionNameAndTrim(t *testing.T) {
	tests := []struct {
		p          modelspec.Precision
		name, want string
	}{
		{modelspec.FP32, "mymodel", "mymodel"},
		{modelspec.INT8, "mymodel", "mymodel-int8"},
		{modelspec.INT8, "mymodel-int8", "mymodel-int8"},
		{modelspec.FP16, "mymodel-int8", "mymodel-int8-fp16"},
		{modelspec.FP16, "bert-L4", "bert-L4-fp16"},
	}
	for _, tc := range tests {
		if got := tc.p.Name(tc.name); got != tc.want {
			t.Errorf("%s.Name(%q) = %q, want %q", tc.p, tc.name, got, tc.want)
		}
	}
	for in, want := range map[string]string{"m-int8": "m", "m-fp16": "m", "m": "m", "m-fp32": "m-fp32", "m-int8x": "m-int8x"} {
		if got := modelspec.TrimPrecisionSuffix(in); got != want {
			t.Errorf("TrimPrecisionSuffix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckCUDA(t *testing.T) {
	for _, p := range modelspec.Precisions {
		err := p.CheckCUDA()
		if (err != nil) != (p == modelspec.INT8) || (err != nil && !strings.Contains(err.Error(), "int8 models run on the CPU")) {
			t.Errorf("%s.CheckCUDA() = %v", p, err)
		}
	}
}

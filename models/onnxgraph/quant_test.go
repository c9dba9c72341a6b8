package onnxgraph

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestQuantizeColumns: each column gets max|column|/127 as its scale
// (1 for an all-zero column), values round to the nearest step and stay
// within -127..127, and dequantised values are within half a step.
func TestQuantizeColumns(t *testing.T) {
	tests := []struct {
		name       string
		m          []float32 // rows x cols, row-major
		rows, cols int
		wantScale  []float32
		wantQ      []int8
	}{
		{"two columns", []float32{1.27, -0.5, -0.635, 0.25}, 2, 2, []float32{0.01, 0.5 / 127}, []int8{127, -127, -64, 64}},
		{"zero column", []float32{0, 2, 0, -1}, 2, 2, []float32{1, 2.0 / 127}, []int8{0, 127, 0, -64}},
		{"one row", []float32{-3}, 1, 1, []float32{3.0 / 127}, []int8{-127}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, s := quantizeColumns(tc.m, tc.rows, tc.cols)
			if len(q) != len(tc.m) || len(s) != 4*tc.cols {
				t.Fatalf("got %d values and %d scale bytes, want %d and %d", len(q), len(s), len(tc.m), 4*tc.cols)
			}
			scale := make([]float32, tc.cols)
			for c := range scale {
				scale[c] = math.Float32frombits(binary.LittleEndian.Uint32(s[4*c:]))
				if math.Abs(float64(scale[c]-tc.wantScale[c])) > 1e-7 {
					t.Errorf("column %d: scale %g, want %g", c, scale[c], tc.wantScale[c])
				}
			}
			for i, v := range tc.m {
				got := int8(q[i])
				if got != tc.wantQ[i] {
					t.Errorf("value %d (%g): quantised %d, want %d", i, v, got, tc.wantQ[i])
				}
				if d := math.Abs(float64(got)*float64(scale[i%tc.cols]) - float64(v)); d > float64(scale[i%tc.cols])/2+1e-7 {
					t.Errorf("value %d (%g): dequantised off by %g, more than half a step", i, v, d)
				}
			}
		})
	}
}

package onnxgraph

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// TestQuantizeColumns: each column gets max|column|/63 as its scale (1
// for an all-zero column, or one whose scale underflows float32), values
// round to the nearest step and stay within -63..63 (7 bits: a u8 x s8
// pair sum, 2 * 255 * 63, fits int16, so the integer sums are exact on
// every x86 kernel, vpmaddubsw included), and dequantised values are
// within half a step.
func TestQuantizeColumns(t *testing.T) {
	tests := []struct {
		name       string
		m          []float32 // rows x cols, row-major
		rows, cols int
		wantScale  []float32
		wantQ      []int8
	}{
		{"two columns", []float32{0.63, -0.5, -0.21, 0.125}, 2, 2, []float32{0.01, 0.5 / 63}, []int8{63, -63, -21, 16}},
		{"zero column", []float32{0, 2, 0, -0.5}, 2, 2, []float32{1, 2.0 / 63}, []int8{0, 63, 0, -16}},
		{"one row", []float32{-3}, 1, 1, []float32{3.0 / 63}, []int8{-63}},
		{"column whose scale underflows", []float32{1e-44, 1, -1e-44, 0.6}, 2, 2, []float32{1, 1.0 / 63}, []int8{0, 63, 0, 38}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, s, err := quantizeColumns(tc.m, tc.rows, tc.cols)
			if err != nil {
				t.Fatal(err)
			}
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
				if got > weightLevels || got < -weightLevels {
					t.Errorf("value %d (%g): quantised %d, outside ±%d", i, v, got, weightLevels)
				}
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

// TestWeightLevelsFitInt16Pairs: the int8 weights' range keeps a pair of
// uint8 x int8 products within int16, what AVX2's vpmaddubsw sums without
// saturating.
func TestWeightLevelsFitInt16Pairs(t *testing.T) {
	if sum := 2 * 255 * weightLevels; sum > math.MaxInt16 {
		t.Errorf("2 * 255 * %d = %d exceeds int16 (%d): sums saturate on CPUs without VNNI", weightLevels, sum, math.MaxInt16)
	}
}

// TestQuantizeColumnsRejectsNonFinite: a NaN or infinite weight is an
// error naming its column, not an int8(NaN).
func TestQuantizeColumnsRejectsNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		_, _, err := quantizeColumns([]float32{1, 2, 3, v}, 2, 2)
		if err == nil || !strings.Contains(err.Error(), "column 1") || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("weight %v: error %v, want one naming row 1, column 1", v, err)
		}
	}
}

// TestActivationFloorKeepsTheInverseFinite: a token's max |x| is floored
// so that 127 / max stays a finite float32: an all-zero row then
// quantises to the zero point (0 × finite), never to 0 × Inf = NaN, whose
// cast to uint8 is undefined.
func TestActivationFloorKeepsTheInverseFinite(t *testing.T) {
	inv := float32(actLevels) / float32(activationFloor)
	if math.IsInf(float64(inv), 0) || math.IsNaN(float64(inv)) {
		t.Fatalf("127 / %g = %v in float32: an all-zero row would quantise 0 × Inf", activationFloor, inv)
	}
	if v := 0*inv + float32(actZeroPoint) + 0.5; uint8(v) != actZeroPoint {
		t.Errorf("an all-zero row quantises to %v, want the zero point %d", v, actZeroPoint)
	}
}

// Package testkit holds the helpers the module's tests share that need no
// ONNX Runtime: comparing BERTScore triples with the reference's. (Package
// internal/orttest requires ONNX Runtime; package fixture loads the
// reference fixtures.)
//
// Helpers take a testing.TB and fail the test; none skips.
package testkit

import (
	"math"
	"testing"
)

// ComparePRF compares scores got with want, row by row, P, R and F: a
// component NaN on one side must be NaN on the other (the reference leaves
// a score undefined there); otherwise they must agree within tol. It
// reports every mismatch and returns the largest difference seen.
func ComparePRF(t testing.TB, label string, got, want [][3]float64, tol float64) (worst float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d scores, want %d", label, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		for k := range 3 {
			if math.IsNaN(w[k]) || math.IsNaN(g[k]) {
				if math.IsNaN(w[k]) != math.IsNaN(g[k]) {
					t.Errorf("%s pair %d %c: got %v, want %v", label, i, "PRF"[k], g[k], w[k])
				}
				continue
			}
			d := math.Abs(g[k] - w[k])
			worst = max(worst, d)
			if !(d <= tol) {
				t.Errorf("%s pair %d %c: got %.8f, want %.8f (|Δ| %.2g > %.0g)", label, i, "PRF"[k], g[k], w[k], d, tol)
			}
		}
	}
	return worst
}

package testkit

import (
	"math"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = true
	r.errors = append(r.errors, format)
	runtime.Goexit()
}

// run calls f(r) in a goroutine of its own, as a test would, so that
// Fatalf can end it.
func (r *recorder) run(f func(*recorder)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
}

// TestComparePRF: the comparison fails when it should: a NaN on one side
// only, a difference above the tolerance, a missing row.
func TestComparePRF(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		got, want [][3]float64
		fails     int
		worst     float64
	}{
		{"equal", [][3]float64{{0.5, 0.6, 0.7}}, [][3]float64{{0.5, 0.6, 0.7}}, 0, 0},
		{"within tolerance", [][3]float64{{0.5, 0.6, 0.7 + 5e-6}}, [][3]float64{{0.5, 0.6, 0.7}}, 0, 5e-6},
		{"NaN on both sides", [][3]float64{{nan, 0.6, 0}}, [][3]float64{{nan, 0.6, 0}}, 0, 0},
		{"NaN got only", [][3]float64{{nan, 0.6, 0}}, [][3]float64{{0.5, 0.6, 0}}, 1, 0},
		{"NaN wanted only", [][3]float64{{0.5, 0.6, 0}}, [][3]float64{{0.5, nan, 0}}, 1, 0},
		{"beyond tolerance", [][3]float64{{0.5, 0.6, 0.71}, {0, 0, 0}}, [][3]float64{{0.5, 0.6, 0.7}, {0, 0.1, 0}}, 2, 0.1},
	}
	for _, tc := range tests {
		r := &recorder{TB: t}
		var worst float64
		r.run(func(r *recorder) { worst = ComparePRF(r, tc.name, tc.got, tc.want, 1e-5) })
		if len(r.errors) != tc.fails || r.fatal {
			t.Errorf("%s: %d failures (fatal %v), want %d", tc.name, len(r.errors), r.fatal, tc.fails)
		}
		if math.Abs(worst-tc.worst) > 1e-12 {
			t.Errorf("%s: worst %v, want %v", tc.name, worst, tc.worst)
		}
	}
	r := &recorder{TB: t}
	r.run(func(r *recorder) { ComparePRF(r, "short", nil, [][3]float64{{0, 0, 0}}, 1e-5) })
	if !r.fatal || !strings.Contains(r.errors[0], "scores, want") {
		t.Errorf("a missing row: %v", r.errors)
	}
}

package gate

import (
	"fmt"
	"testing"

	"github.com/bertbench/bertbench/compare"
)

// TestEvaluate_Comparison gates a comparison computed by package compare:
// the other side is the baseline shifted by -0.005 on every item.
func TestEvaluate_Comparison(t *testing.T) {
	mk := func(name string, shift float64) compare.SideInput {
		si := compare.SideInput{Side: compare.Side{Run: "r", Variation: name}}
		for i := range 50 {
			v := 0.80 + 0.002*float64(i%7) + shift
			si.Generations = append(si.Generations, compare.Generation{Item: fmt.Sprint(i), Raw: &compare.PRF{P: v, R: v, F: v}, Attempts: 1})
		}
		return si
	}
	c, err := compare.Compare(t.Context(), compare.Input{Sides: []compare.SideInput{mk("base", 0), mk("new", -0.005)}}, compare.Options{Resamples: 500, Permutations: 500})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := ParseAll([]string{"F:-0.01", "F:-0.001", "F.ci_high:-0.004", "F>=0.80", "F.ci_low>=0.80"})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Evaluate(c, ts)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, true, false}
	for i, r := range rs {
		if r.Pass != want[i] || !r.Known {
			t.Errorf("%s", r)
		}
	}
}

package report

import (
	"strings"
	"testing"

	"github.com/bertbench/bertbench/compare"
)

// TestReports_EdgeCases renders every format of comparisons with parts
// missing: one side (no difference), no live call (replayed answers), and
// nothing compared. Each chart then says why it is empty.
func TestReports_EdgeCases(t *testing.T) {
	gen := func(item string, f float64, attempts int) compare.Generation {
		return compare.Generation{Item: item, Output: "输出 " + item, Raw: &compare.PRF{P: f, R: f, F: f}, Attempts: attempts}
	}
	side := func(name string, gens ...compare.Generation) compare.SideInput {
		si := compare.SideInput{Side: compare.Side{Run: "r", Variation: name}, Generations: gens}
		for _, g := range gens {
			si.Items = append(si.Items, compare.Item{ID: g.Item, Source: "src " + g.Item, References: []string{"ref"}})
		}
		return si
	}
	unscored := gen("b", 0, 1)
	unscored.Raw = nil
	cases := map[string]struct {
		in    compare.Input
		notes []string
	}{
		"one side": {compare.Input{Sides: []compare.SideInput{side("only", gen("a", 0.8, 1), gen("b", 0.9, 1))}},
			[]string{"no other variation to compare with the baseline", "no priced live call"}},
		"replayed": {compare.Input{Sides: []compare.SideInput{side("x", gen("a", 0.8, 0), gen("b", 0.9, 0)), side("y", gen("a", 0.7, 0), gen("b", 0.95, 0))}},
			[]string{"no live call (replayed, cached or failed answers only)", "no live call: latency was not measured"}},
		"nothing compared": {compare.Input{Sides: []compare.SideInput{side("x", gen("a", 0.8, 1)), side("y", unscored)}},
			[]string{"no item was scored on every variation", "no other variation to compare with the baseline, or no item compared"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := compare.Compare(t.Context(), tc.in, compare.Options{Resamples: 50, Permutations: 50})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range Formats {
				r, err := New(f, c)
				if err != nil {
					t.Fatal(err)
				}
				out := string(render(t, r))
				if out == "" {
					t.Errorf("%s: empty", f)
				}
				if f == FormatHTML {
					for _, n := range tc.notes {
						if !strings.Contains(out, n) {
							t.Errorf("html lacks the note %q", n)
						}
					}
				}
			}
		})
	}
}

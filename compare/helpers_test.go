package compare

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// side builds a side whose item i (id "item-i") has score f[i] in all of
// P, R and F (P and R offset a little so the three series differ), one
// repeat each, live calls of 100 ms.
func side(run, variation string, f []float64) SideInput {
	si := SideInput{Side: Side{Run: run, Variation: variation}}
	for i, v := range f {
		id := fmt.Sprintf("item-%03d", i)
		si.Items = append(si.Items, Item{ID: id, Source: "source " + id, References: []string{"ref " + id}})
		si.Generations = append(si.Generations, Generation{
			Item: id, Output: "out " + id, Raw: &PRF{v - 0.01, v + 0.01, v},
			Latency: 100 * time.Millisecond, Attempts: 1,
		})
	}
	return si
}

// withRescaled gives every scored generation a rescaled score,
// (raw − b) / (1 − b) with b = 0.7.
func withRescaled(si SideInput) SideInput {
	gens := append([]Generation(nil), si.Generations...)
	for i := range gens {
		if r := gens[i].Raw; r != nil {
			const b = 0.7
			gens[i].Rescaled = &PRF{(r.P - b) / (1 - b), (r.R - b) / (1 - b), (r.F - b) / (1 - b)}
		}
	}
	si.Generations = gens
	return si
}

// normals returns n seeded normal draws of mean mu and deviation sd.
func normals(rng *rand.Rand, n int, mu, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mu + sd*rng.NormFloat64()
	}
	return out
}

func shift(xs []float64, c float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x + c
	}
	return out
}

func mustCompare(tb testing.TB, in Input, opts Options) *Comparison {
	tb.Helper()
	c, err := Compare(tb.Context(), in, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
